package io.github.lbpdjl.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.training.LbpTrainingListener;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * 500 training steps with LBP-WHT, the listener's gradient probes and its NaN check keep the number
 * of live NDArrays exactly flat (from step 100) and the resident set flat once warmed up (steps 250
 * to 500). It found arrays made from parameters (a detached weight, a reshaped bias) piling up in
 * the model's manager, 22 per step in this model.
 */
class LeakIT {

    static final int STEPS = 500;

    /** Live NDArrays of the whole engine: those of its root manager and every sub-manager. */
    static int liveArrays(NDManager any) {
        NDManager root = any;
        while (root.getParentManager() != null) {
            root = root.getParentManager();
        }
        return root.getManagedArrays().size();
    }

    /** Resident set in MB from /proc, or -1 where there is none. */
    static double rssMb() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) {
            return -1;
        }
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        return -1;
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void fiveHundredStepsKeepArraysAndMemoryFlat(String engine) throws Exception {
        Engine.getEngine(engine).setRandomSeed(5);
        try (Model model = Model.newInstance("tiny", engine)) {
            model.setBlock(TinyTransformer.create());
            LbpTrainingListener lbp =
                    LbpTrainingListener.builder()
                            .optRewriter(
                                    LbpRewriter.builder()
                                            .optConfig(
                                                    LbpConfig.builder()
                                                            .optSelection(
                                                                    BasisSelection.lowPassL1(2))
                                                            .build())
                                            .optLayout(TokenLayout.grid(1, 8, 8))
                                            .build())
                            .optEnergySampling(10)
                            .build();
            DefaultTrainingConfig cfg =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(
                                    Optimizer.adam()
                                            .optLearningRateTracker(Tracker.fixed(1e-3f))
                                            .build())
                            .addTrainingListeners(lbp);
            ArrayDataset train = TrainSaveLoadIT.data(model.getNDManager(), 160); // 10 batches
            try (Trainer trainer = model.newTrainer(cfg)) {
                trainer.initialize(new Shape(TrainSaveLoadIT.BATCH, TinyTransformer.TOKENS, 3));
                int step = 0;
                int arraysAt100 = -1;
                double early = Double.MAX_VALUE; // least RSS over steps 160..250
                double late = Double.MAX_VALUE; // least RSS over steps 410..500
                StringBuilder rss = new StringBuilder();
                while (step < STEPS) {
                    for (Batch b : trainer.iterateDataset(train)) {
                        EasyTrain.trainBatch(trainer, b);
                        trainer.step();
                        b.close();
                        step++;
                        if (step % 100 == 0) {
                            System.gc();
                            rss.append(String.format(" %d:%.0f", step, rssMb()));
                        }
                        if (step == 100) {
                            arraysAt100 = liveArrays(model.getNDManager());
                        }
                        if (step % 10 == 0 && step > 150 && step <= 250) {
                            early = Math.min(early, rssMb());
                        }
                        if (step % 10 == 0 && step > 400) {
                            late = Math.min(late, rssMb());
                        }
                    }
                    trainer.notifyListeners(l -> l.onEpoch(trainer));
                }
                System.gc();
                int arraysAt500 = liveArrays(model.getNDManager());
                System.out.printf(
                        "%s: live NDArrays %d at step 100, %d at step %d; least RSS %.0f MB"
                                + " (steps 160-250), %.0f MB (410-500); RSS MB by step:%s%n",
                        engine, arraysAt100, arraysAt500, STEPS, early, late, rss);
                assertEquals(
                        arraysAt100, arraysAt500, engine + ": live NDArrays grow over training");
                if (early > 0) {
                    // the first steps warm up the JVM heap and the engine's memory pool; the least
                    // reading of a window ignores the heap's swings. A leak of one activation-sized
                    // array per step would add about 33 MB here.
                    assertTrue(
                            late - early < 32,
                            engine + ": RSS grows " + early + " -> " + late + " MB");
                }
            }
        }
    }
}
