package io.github.lbpdjl.examples.study;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.github.lbpdjl.examples.common.Medians;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Training-step times of several methods measured side by side in one process: one model and
 * trainer per method, the same batches, one step of each method per round in an order that rotates
 * each round, so that load from other work falls on all of them alike.
 */
public final class StepTiming {

    private StepTiming() {}

    /**
     * Times the methods.
     *
     * @param setup the model and batch
     * @param methods the methods
     * @param data training images, at least one batch
     * @param warmup untimed rounds first
     * @param rounds timed rounds
     * @return per method name, the median step in milliseconds
     */
    public static Map<String, Double> measure(
            StudySetup setup, List<StudyMethod> methods, StudyData data, int warmup, int rounds) {
        if (data.count() < setup.batch()) {
            throw new IllegalArgumentException(
                    "timing needs at least one batch of " + setup.batch() + " images");
        }
        List<Model> models = new ArrayList<>();
        List<Trainer> trainers = new ArrayList<>();
        List<List<Double>> times = new ArrayList<>();
        try {
            for (StudyMethod m : methods) {
                Engine.getEngine(setup.engine()).setRandomSeed(1);
                Model model = Model.newInstance("timing-" + m.name(), setup.engine());
                models.add(model);
                StudyVit vit = setup.model(10);
                model.setBlock(vit);
                vit.initialize(model.getNDManager(), DataType.FLOAT32, setup.inputShape());
                DefaultTrainingConfig cfg =
                        new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                                .optOptimizer(
                                        Optimizer.adamW()
                                                .optLearningRateTracker(Tracker.fixed(1e-4f))
                                                .build())
                                .addTrainingListeners(m.listener(null, 0, 0));
                trainers.add(model.newTrainer(cfg));
                times.add(new ArrayList<>());
            }
            try (NDManager manager = trainers.get(0).getManager().newSubManager()) {
                int round = 0;
                while (round < warmup + rounds) {
                    for (Batch b :
                            trainers.get(0)
                                    .iterateDataset(data.dataset(manager, setup.batch(), true))) {
                        if (b.getSize() == setup.batch() && round < warmup + rounds) {
                            step(trainers, times, b, round, round >= warmup);
                            round++;
                        }
                        b.close();
                    }
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException("timing: " + e, e);
        } finally {
            trainers.forEach(Trainer::close);
            models.forEach(Model::close);
        }
        Map<String, Double> out = new LinkedHashMap<>();
        for (int i = 0; i < methods.size(); i++) {
            double[] t = times.get(i).stream().mapToDouble(d -> d).toArray();
            out.put(methods.get(i).name(), Medians.of(t));
        }
        return out;
    }

    private static void step(
            List<Trainer> trainers, List<List<Double>> times, Batch b, int round, boolean keep) {
        int n = trainers.size();
        for (int j = 0; j < n; j++) {
            int i = (j + round) % n;
            long t0 = System.nanoTime();
            EasyTrain.trainBatch(trainers.get(i), b);
            trainers.get(i).step();
            long t = System.nanoTime() - t0;
            if (keep) {
                times.get(i).add(t / 1e6);
            }
        }
    }
}
