package io.github.lbpdjl.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.checkpoint.ResumableAdamW;
import io.github.lbpdjl.checkpoint.TrainingCheckpoint;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.training.LbpTrainingListener;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A run with the listener checkpointed after 2 of 4 epochs and resumed in a fresh model, trainer
 * and optimizer reaches the same weights and loss as the run that was not interrupted.
 */
class ResumeIT {

    static final int EPOCHS = 4;

    /** Schedules that depend on the position in the run: full backprop first, a rank by epoch. */
    static LbpTrainingListener listener() {
        return LbpTrainingListener.builder()
                .optRewriter(
                        LbpRewriter.builder()
                                .optConfig(
                                        LbpConfig.builder()
                                                .optSelection(BasisSelection.lowPassL1(2))
                                                .build())
                                .optLayout(TokenLayout.grid(1, 8, 8))
                                .build())
                .optFrozen(TargetModules.regex(".*norm.*"))
                .optFullBackpropSteps(5)
                .optSelectionSchedule(
                        epoch ->
                                epoch < 3
                                        ? BasisSelection.lowPassL1(2)
                                        : BasisSelection.lowPassL1(4))
                .optEnergySampling(3)
                .build();
    }

    static final class Run implements AutoCloseable {
        final Model model;
        final LbpTrainingListener lbp = listener();
        final ResumableAdamW optimizer =
                ResumableAdamW.builder()
                        .optLearningRateTracker(Tracker.fixed(3e-3f))
                        .optWeightDecays(1e-3f)
                        .build();
        final Trainer trainer;
        final ArrayDataset data;

        Run(String engine, Path resumeFrom) throws Exception {
            Engine.getEngine(engine)
                    .setRandomSeed(
                            resumeFrom == null ? 21 : 99); // resumed: weights come from the file
            model = Model.newInstance("tiny", engine);
            model.setBlock(TinyTransformer.create());
            if (resumeFrom != null) {
                TrainingCheckpoint.loadWeights(resumeFrom, model);
            }
            DefaultTrainingConfig cfg =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(optimizer)
                            .addTrainingListeners(lbp);
            trainer = model.newTrainer(cfg);
            trainer.initialize(new Shape(TrainSaveLoadIT.BATCH, TinyTransformer.TOKENS, 3));
            if (resumeFrom != null) {
                TrainingCheckpoint.loadState(resumeFrom, model, optimizer, lbp);
            }
            Engine.getEngine(engine).setRandomSeed(7); // the same data in every run
            data = TrainSaveLoadIT.data(model.getNDManager(), 96);
        }

        void epochs(int n) throws Exception {
            for (int e = 0; e < n; e++) {
                for (Batch b : trainer.iterateDataset(data)) {
                    EasyTrain.trainBatch(trainer, b);
                    trainer.step();
                    b.close();
                }
                trainer.notifyListeners(l -> l.onEpoch(trainer));
            }
        }

        List<float[]> weights() {
            List<float[]> out = new ArrayList<>();
            for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
                out.add(p.getValue().getArray().toFloatArray());
            }
            return out;
        }

        @Override
        public void close() {
            trainer.close();
            optimizer.close();
            model.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void resumedRunMatchesTheUninterruptedOne(String engine) throws Exception {
        List<float[]> expected;
        float expectedLoss;
        String expectedState;
        try (Run straight = new Run(engine, null)) {
            straight.epochs(EPOCHS);
            expected = straight.weights();
            expectedLoss = TrainSaveLoadIT.meanLoss(straight.trainer, straight.data);
            expectedState = straight.lbp.getState();
        }
        Path dir = Files.createTempDirectory("lbp-resume").resolve("ckpt");
        List<float[]> atCheckpoint;
        try (Run first = new Run(engine, null)) {
            first.epochs(EPOCHS / 2);
            atCheckpoint = first.weights();
            TrainingCheckpoint.save(dir, first.model, first.optimizer, first.lbp);
            first.epochs(1); // saving again later replaces the checkpoint only when complete
            TrainingCheckpoint.save(
                    dir.resolveSibling("other"), first.model, first.optimizer, first.lbp);
        }
        List<float[]> resumedWeights;
        float resumedLoss;
        try (Run resumed = new Run(engine, dir)) {
            assertEquals(atCheckpoint.size(), resumed.weights().size());
            for (int i = 0; i < atCheckpoint.size(); i++) {
                assertArraysClose(
                        atCheckpoint.get(i), resumed.weights().get(i), 0f, "loaded parameter " + i);
            }
            assertTrue(resumed.optimizer.getStateSize() > 0, "optimizer state loaded");
            resumed.epochs(EPOCHS - EPOCHS / 2);
            resumedWeights = resumed.weights();
            resumedLoss = TrainSaveLoadIT.meanLoss(resumed.trainer, resumed.data);
            assertEquals(expectedState, resumed.lbp.getState(), "listener state at the end");
        }
        for (int i = 0; i < expected.size(); i++) {
            assertArraysClose(
                    expected.get(i), resumedWeights.get(i), 1e-5f, engine + " parameter " + i);
        }
        assertEquals(
                expectedLoss,
                resumedLoss,
                1e-5f * Math.max(1, Math.abs(expectedLoss)),
                engine + " loss");
        assertFalse(
                Files.exists(dir.resolveSibling("ckpt.old")),
                "no leftover folder after a complete save");
    }

    /** Without the optimizer state, the same resume does not match: the test can fail. */
    @ParameterizedTest
    @ValueSource(strings = {"PyTorch"})
    void resumingWithoutOptimizerStateDiffers(String engine) throws Exception {
        List<float[]> expected;
        try (Run straight = new Run(engine, null)) {
            straight.epochs(EPOCHS);
            expected = straight.weights();
        }
        Path dir = Files.createTempDirectory("lbp-resume").resolve("ckpt");
        try (Run first = new Run(engine, null)) {
            first.epochs(EPOCHS / 2);
            TrainingCheckpoint.save(dir, first.model, first.optimizer, first.lbp);
        }
        try (Run resumed = new Run(engine, dir)) {
            resumed.optimizer.close(); // drop the loaded moments
            resumed.epochs(EPOCHS - EPOCHS / 2);
            float maxDiff = 0;
            List<float[]> got = resumed.weights();
            for (int i = 0; i < expected.size(); i++) {
                for (int j = 0; j < expected.get(i).length; j++) {
                    maxDiff = Math.max(maxDiff, Math.abs(expected.get(i)[j] - got.get(i)[j]));
                }
            }
            assertTrue(
                    maxDiff > 1e-4f, "fresh moments should change the result, max diff " + maxDiff);
        }
    }

    static void assertArraysClose(float[] a, float[] b, float tol, String what) {
        assertEquals(a.length, b.length, what);
        for (int i = 0; i < a.length; i++) {
            assertTrue(
                    Math.abs(a[i] - b[i]) <= tol * Math.max(1, Math.abs(a[i])),
                    what + " [" + i + "]: " + a[i] + " vs " + b[i]);
        }
    }
}
