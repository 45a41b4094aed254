package io.github.lbpdjl.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.metric.Metrics;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.nn.BackwardFlops;
import io.github.lbpdjl.nn.LbpConv2d;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.testing.ConvNet;
import io.github.lbpdjl.testing.TrainLoop;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The listeners of {@link LbpListeners#defaults} on a convolutional net whose 1x1 convolutions the
 * rewriter takes over: they find the LbpConv2d layers, report their backward FLOPs and gradient
 * energy, and training goes on.
 */
class LbpConvListenersTest {

    static final int BATCH = 8;
    static final int SAMPLES = 64;
    static final Shape MAP = new Shape(ConvNet.C, 14, 14);

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void defaultsScheduleAndReportTheConvolutions(String engine) throws Exception {
        LbpConfig config = LbpConfig.builder().optSelection(BasisSelection.lowPassL1(2)).build();
        FineTuning ft =
                FineTuning.builder()
                        .optLbp(
                                LbpRewriter.builder()
                                        .optTargets(TargetModules.names("pw1", "pw2"))
                                        .optConfig(config)
                                        .build())
                        .build();
        List<TrainingListener> listeners =
                new ArrayList<>(Arrays.asList(LbpListeners.defaults(ft)));
        List<Map<String, Block>> seen = new ArrayList<>();
        listeners.add(
                new TrainingListenerAdapter() {
                    @Override
                    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
                        if (seen.isEmpty()) {
                            seen.add(BlockTree.modules(trainer.getModel().getBlock()));
                        }
                    }
                });
        Metrics metrics = new Metrics();
        float[] losses = train(engine, 2, listeners, metrics);

        assertInstanceOf(LbpConv2d.class, seen.get(0).get("0.pw1"));
        assertInstanceOf(LbpConv2d.class, seen.get(0).get("0.pw2"));
        double lbp = metrics.latestMetric(BackwardFlopsListener.METRIC_LBP_MFLOPS).getValue();
        double full = metrics.latestMetric(BackwardFlopsListener.METRIC_FULL_MFLOPS).getValue();
        // 4 N C_in C_out per layer, N = 14 x 14: pw1 4 -> 16, pw2 16 -> 8
        assertEquals(4.0 * 196 * (4 * 16 + 16 * 8) / 1e6, full, 1e-9);
        TokenLayout grid = TokenLayout.grid(0, 14, 14);
        long expected =
                BackwardFlops.of(grid, config, 4, 16).getLbp()
                        + BackwardFlops.of(grid, config, 16, 8).getLbp();
        assertEquals(expected / 1e6, lbp, 1e-9);
        assertTrue(lbp > 0 && lbp < full, "backward MFLOPs " + lbp + " of " + full);
        assertTrue(metrics.hasMetric(GradientEnergyListener.METRIC_ENERGY + ".0.pw1"));
        double energy =
                metrics.latestMetric(GradientEnergyListener.METRIC_ENERGY + ".0.pw2").getValue();
        assertTrue(energy > 0 && energy <= 1.0 + 1e-6, "energy kept " + energy);
        assertTrue(losses[1] < losses[0], "loss goes down: " + Arrays.toString(losses));
    }

    /**
     * LbpTrainingListener: full backprop for the first steps (the probe then rides on the exact
     * Conv2d output), LBP-WHT after; energy sampled on every batch; the layers undone at the end.
     */
    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void trainingListenerWarmsUpSamplesAndUndoes(String engine) throws Exception {
        LbpTrainingListener lbp =
                LbpTrainingListener.builder()
                        .optRewriter(
                                LbpRewriter.builder()
                                        .optTargets(TargetModules.globs("0.pw*"))
                                        .build())
                        .optFullBackpropSteps(3)
                        .optEnergySampling(1)
                        .optUndoAtEnd(true)
                        .build();
        List<Boolean> enabled = new ArrayList<>();
        List<Block> atEnd = new ArrayList<>();
        TrainingListener recorder =
                new TrainingListenerAdapter() {
                    @Override
                    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
                        Block pw1 = BlockTree.modules(trainer.getModel().getBlock()).get("0.pw1");
                        enabled.add(((LbpConv2d) pw1).isLbpEnabled());
                    }

                    @Override
                    public void onTrainingEnd(Trainer trainer) {
                        atEnd.add(BlockTree.modules(trainer.getModel().getBlock()).get("0.pw1"));
                    }
                };
        Metrics metrics = new Metrics();
        train(engine, 1, new ArrayList<>(List.of(lbp, recorder)), metrics);

        // recorded after each batch: the switch for the next one
        assertEquals(List.of(false, false, true, true), enabled.subList(0, 4));
        double kept = lbp.getLastEnergyKept().get("0.pw1");
        assertTrue(kept > 0 && kept <= 1.0 + 1e-6, "energy kept " + kept);
        assertEquals(4.0 * 196 * (4 * 16 + 16 * 8) / 1e6, lbp.getLastFullMflops(), 1e-9);
        // LP_L1-6 (21 bases) on channels this narrow costs more than full backprop: the transforms
        assertTrue(lbp.getLastLbpMflops() > 0, "backward MFLOPs " + lbp.getLastLbpMflops());
        assertEquals(Conv2d.class, atEnd.get(0).getClass(), "undone at the end of training");
    }

    static float[] train(
            String engine, int epochs, List<TrainingListener> listeners, Metrics metrics)
            throws Exception {
        Engine.getEngine(engine).setRandomSeed(1);
        try (Model model = Model.newInstance("conv", engine)) {
            model.setBlock(ConvNet.net(3));
            DefaultTrainingConfig cfg =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(
                                    Optimizer.adam()
                                            .optLearningRateTracker(Tracker.fixed(0.01f))
                                            .build());
            listeners.forEach(cfg::addTrainingListeners);
            try (Trainer trainer = model.newTrainer(cfg)) {
                trainer.setMetrics(metrics);
                trainer.initialize(new Shape(BATCH).addAll(MAP));
                NDManager m = model.getNDManager();
                NDArray x = m.randomNormal(new Shape(SAMPLES).addAll(MAP));
                NDArray y = ConvNet.pool(x).get(":, 0:3").argMax(1);
                ArrayDataset ds =
                        new ArrayDataset.Builder()
                                .setData(x)
                                .optLabels(y)
                                .setSampling(BATCH, false)
                                .build();
                return TrainLoop.epochs(trainer, ds, epochs);
            }
        }
    }
}
