package io.github.lbpdjl.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.metric.Metrics;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.TranslateException;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.testing.TrainLoop;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LbpTrainingListenerTest {

    static final int TOKENS = 65; // class token + 8x8
    static final int C = 8;
    static final int BATCH = 8;
    static final int SAMPLES = 64; // 8 batches per epoch

    static Block net() {
        return new SequentialBlock()
                .add(LayerNorm.builder().build())
                .add(Linear.builder().setUnits(16).build())
                .add(Activation::relu)
                .add(Linear.builder().setUnits(C).build())
                .add(x -> new NDList(x.singletonOrThrow().mean(new int[] {1})))
                .add(Linear.builder().setUnits(3).build());
    }

    static ArrayDataset data(NDManager m) {
        NDArray x = m.randomNormal(new Shape(SAMPLES, TOKENS, C));
        NDArray y = x.mean(new int[] {1}).get(":, 0:3").argMax(1);
        return new ArrayDataset.Builder().setData(x).optLabels(y).setSampling(BATCH, false).build();
    }

    static float[] train(
            String engine, int epochs, List<TrainingListener> listeners, Metrics metrics)
            throws IOException, TranslateException {
        Engine.getEngine(engine).setRandomSeed(1);
        try (Model model = Model.newInstance("t", engine)) {
            model.setBlock(net());
            DefaultTrainingConfig cfg =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(
                                    Optimizer.adam()
                                            .optLearningRateTracker(Tracker.fixed(0.01f))
                                            .build());
            for (TrainingListener l : listeners) {
                cfg.addTrainingListeners(l);
            }
            try (Trainer trainer = model.newTrainer(cfg)) {
                trainer.setMetrics(metrics);
                trainer.initialize(new Shape(BATCH, TOKENS, C));
                ArrayDataset ds = data(model.getNDManager());
                return TrainLoop.epochs(trainer, ds, epochs);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void appliesFreezesSchedulesAndReports(String engine) throws Exception {
        LbpTrainingListener lbp =
                LbpTrainingListener.builder()
                        .optRewriter(
                                LbpRewriter.builder()
                                        .optConfig(
                                                LbpConfig.builder()
                                                        .optLayout(TokenLayout.grid(1, 8, 8))
                                                        .build())
                                        .build())
                        .optFrozen(TargetModules.regex("0\\..*")) // the LayerNorm
                        .optFullBackpropSteps(3)
                        .optSelectionSchedule(
                                epoch ->
                                        epoch == 0
                                                ? BasisSelection.lowPassL1(1)
                                                : BasisSelection.lowPassL1(4))
                        .optEnergySampling(2)
                        .build();
        List<Boolean> enabledPerBatch = new ArrayList<>();
        List<float[]> normGamma = new ArrayList<>();
        TrainingListener recorder =
                new TrainingListenerAdapter() {
                    @Override
                    public void onTrainingBegin(Trainer trainer) {
                        normGamma.add(null);
                    }

                    @Override
                    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
                        LbpLinear first = lbp.getLayers().values().iterator().next();
                        enabledPerBatch.add(first.isLbpEnabled());
                        Block norm = trainer.getModel().getBlock().getChildren().valueAt(0);
                        float[] g = norm.getParameters().get("gamma").getArray().toFloatArray();
                        if (normGamma.get(0) == null) {
                            normGamma.set(0, g);
                        } else {
                            normGamma.add(g);
                        }
                    }
                };
        Metrics metrics = new Metrics();
        float[] losses = train(engine, 3, List.of(lbp, recorder), metrics);

        // rewritten at onTrainingBegin: the two token layers, not the head ("5")
        assertEquals(List.of("1", "3"), List.copyOf(lbp.getLayers().keySet()));
        // full backprop for 3 steps: enabled is recorded after the listener updated it
        assertEquals(List.of(false, false, true, true), enabledPerBatch.subList(0, 4));
        // frozen LayerNorm never changed
        for (float[] g : normGamma) {
            assertEquals(normGamma.get(0)[0], g[0]);
        }
        // epoch schedule: epoch 2 (index) uses LP_L1-4
        assertEquals(
                BasisSelection.lowPassL1(4), lbp.getLayers().get("1").getConfig().getSelection());
        // metrics: FLOPs saved and energy kept in (0, 1]
        assertTrue(metrics.hasMetric(LbpTrainingListener.METRIC_LBP_MFLOPS));
        assertTrue(lbp.getLastLbpMflops() < lbp.getLastFullMflops());
        Map<String, Double> energy = lbp.getLastEnergyKept();
        assertEquals(2, energy.size());
        for (double e : energy.values()) {
            assertTrue(e > 0 && e <= 1, "energy kept " + e);
        }
        assertTrue(metrics.hasMetric(LbpTrainingListener.METRIC_ENERGY + ".1"));
        assertTrue(losses[2] < losses[0], "loss goes down: " + java.util.Arrays.toString(losses));
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void energyAdaptiveSelectionAndUndo(String engine) throws Exception {
        LbpTrainingListener lbp =
                LbpTrainingListener.builder()
                        .optRewriter(
                                LbpRewriter.builder()
                                        .optTargets(TargetModules.names("1", "3"))
                                        .build())
                        .optEnergyAdaptive(0.9, 6, 2)
                        .optEnergySampling(1)
                        .optUndoAtEnd(true)
                        .build();
        List<Block> seen = new ArrayList<>();
        TrainingListener recorder =
                new TrainingListenerAdapter() {
                    @Override
                    public void onTrainingEnd(Trainer trainer) {
                        seen.add(trainer.getModel().getBlock().getChildren().valueAt(1));
                    }
                };
        train(engine, 1, List.of(lbp, recorder), new Metrics());
        for (LbpLinear l : lbp.getLayers().values()) {
            assertEquals(BasisSelection.Kind.EXPLICIT, l.getConfig().getSelection().getKind());
            int k = l.getConfig().getBasisCount();
            assertTrue(k >= 1 && k <= 6, "k = " + k);
        }
        assertNotNull(lbp.getLastEnergyKept().get("1"));
        // undone at the end: plain Linear again (the recorder runs after the LBP listener)
        assertFalse(seen.get(0) instanceof LbpLinear);
        assertInstanceOf(Linear.class, seen.get(0));
        assertTrue(BlockTree.find(seen.get(0), LbpLinear.class).isEmpty());
    }
}
