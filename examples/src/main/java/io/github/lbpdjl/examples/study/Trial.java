package io.github.lbpdjl.examples.study;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.metric.Metrics;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.CosineTracker;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.examples.common.Medians;
import io.github.lbpdjl.examples.common.TestAccuracy;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.nn.BackwardFlops;
import io.github.lbpdjl.nn.LbpLayer;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.training.LbpTrainingListener;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One training run: builds a {@link StudyVit}, optionally loads weights from a pre-training run
 * (all but the head), trains it with a method under AdamW and a cosine schedule, and evaluates it.
 *
 * @param setup the model and recipe shared by every run
 * @param experiment scratch or finetune
 * @param classes the head's outputs
 * @param epochs training epochs
 * @param lr the peak learning rate
 * @param frozen parameters to freeze, or null
 */
public record Trial(
        StudySetup setup,
        String experiment,
        int classes,
        int epochs,
        double lr,
        TargetModules frozen) {

    /**
     * A finished run: its row and its trained weights by parameter path.
     *
     * @param row the results
     * @param weights the trained weights
     */
    public record Outcome(StudyRow row, Map<String, float[]> weights) {}

    /**
     * Trains and evaluates.
     *
     * @param method the method
     * @param seed seeds initialisation and data order
     * @param train the training images
     * @param test the test images
     * @param init weights to start from by parameter path (the head's are left out), or null
     * @return the outcome
     */
    public Outcome run(
            StudyMethod method,
            int seed,
            StudyData train,
            StudyData test,
            Map<String, float[]> init) {
        Engine.getEngine(setup.engine()).setRandomSeed(seed);
        try (Model model = Model.newInstance("study", setup.engine())) {
            StudyVit vit = setup.model(classes);
            model.setBlock(vit);
            vit.initialize(model.getNDManager(), DataType.FLOAT32, setup.inputShape());
            if (init != null) {
                load(vit, init);
            }
            LbpTrainingListener lbp =
                    method.listener(frozen, setup.energyEvery(), setup.calibration());
            EpochLoss loss = new EpochLoss();
            int steps = epochs * ((train.count() + setup.batch() - 1) / setup.batch());
            Optimizer adamW =
                    Optimizer.adamW()
                            .optLearningRateTracker(
                                    CosineTracker.builder()
                                            .setBaseValue((float) lr)
                                            .optFinalValue((float) lr / 100)
                                            .setMaxUpdates(steps)
                                            .build())
                            .optWeightDecays(1e-5f)
                            .build();
            DefaultTrainingConfig cfg =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(adamW)
                            .addTrainingListeners(lbp, loss);
            try (Trainer trainer = model.newTrainer(cfg);
                    NDManager data = trainer.getManager().newSubManager()) {
                trainer.setMetrics(new Metrics()); // the listeners report into it
                ArrayDataset trainSet = train.dataset(data, setup.batch(), true);
                List<Double> times = new ArrayList<>();
                for (int e = 0; e < epochs; e++) {
                    loss.reset();
                    for (Batch b : trainer.iterateDataset(trainSet)) {
                        long t0 = System.nanoTime();
                        EasyTrain.trainBatch(trainer, b);
                        trainer.step();
                        times.add((System.nanoTime() - t0) / 1e6);
                        b.close();
                    }
                    trainer.notifyListeners(l -> l.onEpoch(trainer));
                }
                double acc = TestAccuracy.of(trainer, test.dataset(data, setup.batch(), false));
                double[] flops = flops(vit);
                StudyRow row =
                        new StudyRow(
                                experiment,
                                method,
                                seed,
                                loss.mean(),
                                acc,
                                flops[0],
                                flops[1],
                                flops[2],
                                Medians.of(times.stream().mapToDouble(d -> d).toArray()),
                                new LinkedHashMap<>(lbp.getLastEnergyKept()));
                System.out.printf(
                        Locale.ROOT,
                        "%s %s seed %d: loss %.4f, test accuracy %.2f%%, %.2f of %.2f backward"
                                + " MFLOPs/image, %.1f ms/step%n",
                        experiment,
                        method.label(),
                        seed,
                        row.trainLoss(),
                        100 * acc,
                        flops[0],
                        flops[1],
                        row.msPerStep());
                return new Outcome(row, weights(vit));
            }
        } catch (Exception e) {
            throw new IllegalStateException(experiment + " " + method.name() + ": " + e, e);
        }
    }

    /**
     * Backward MFLOPs per image of the blocks' token-wise Linear layers as configured now, with
     * full backprop, and the mean number of bases of the LBP-WHT layers.
     *
     * @param vit the model
     * @return {LBP MFLOPs, full MFLOPs, mean bases (0 without LBP-WHT layers)}
     */
    static double[] flops(StudyVit vit) {
        TokenLayout layout = TokenLayout.of(vit);
        LbpConfig exact = LbpConfig.builder().optSelection(BasisSelection.all()).build();
        double lbp = 0;
        double full = 0;
        double bases = 0;
        int lbpLayers = 0;
        for (Map.Entry<String, Linear> e : BlockTree.find(vit, Linear.class).entrySet()) {
            if (StudyVit.kindOf(e.getKey()) == null) {
                continue;
            }
            Shape w = e.getValue().getParameters().get("weight").getShape();
            LbpConfig c = exact;
            if (e.getValue() instanceof LbpLayer layer && layer.isLbpEnabled()) {
                c = layer.getConfig();
                bases += c.getBasisCount();
                lbpLayers++;
            }
            BackwardFlops f = BackwardFlops.of(layout, c, w.get(1), w.get(0));
            lbp += c == exact ? f.getFull() : f.getLbp();
            full += f.getFull();
        }
        return new double[] {lbp / 1e6, full / 1e6, lbpLayers == 0 ? 0 : bases / lbpLayers};
    }

    private static Map<String, float[]> weights(StudyVit vit) {
        Map<String, float[]> out = new LinkedHashMap<>();
        BlockTree.parameters(vit).forEach((k, p) -> out.put(k, p.getArray().toFloatArray()));
        return out;
    }

    private static void load(StudyVit vit, Map<String, float[]> init) {
        String head = vit.headPath() + ".";
        for (Map.Entry<String, Parameter> e : BlockTree.parameters(vit).entrySet()) {
            if (!e.getKey().startsWith(head)) {
                e.getValue().getArray().set(init.get(e.getKey()));
            }
        }
    }

    /** The mean training loss of an epoch, from each batch's predictions. */
    private static final class EpochLoss extends TrainingListenerAdapter {
        private double sum;
        private int count;

        void reset() {
            sum = 0;
            count = 0;
        }

        double mean() {
            return sum / count;
        }

        @Override
        public void onTrainingBatch(Trainer trainer, BatchData batchData) {
            for (Device d : batchData.getLabels().keySet()) {
                NDArray l =
                        trainer.getLoss()
                                .evaluate(
                                        batchData.getLabels().get(d),
                                        batchData.getPredictions().get(d));
                sum += l.getFloat();
                count++;
            }
        }
    }
}
