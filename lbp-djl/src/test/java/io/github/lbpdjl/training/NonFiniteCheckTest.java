package io.github.lbpdjl.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.TrainingDivergedException;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.Batchifier;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NonFiniteCheckTest {

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void tellsFiniteFromNonFiniteEntries(String engine) {
        try (NDManager m = Engine.getEngine(engine).newBaseManager()) {
            float max = Float.MAX_VALUE;
            assertTrue(NonFiniteCheckListener.isAllFinite(m.create(new float[] {1, -2, 3})));
            // the sum overflows to Inf, yet every entry is finite
            assertTrue(NonFiniteCheckListener.isAllFinite(m.create(new float[] {max, max, max})));
            assertTrue(NonFiniteCheckListener.isAllFinite(m.create(new float[] {-max, -max})));
            assertEquals(
                    false,
                    NonFiniteCheckListener.isAllFinite(m.create(new float[] {1, Float.NaN, 3})));
            assertEquals(
                    false,
                    NonFiniteCheckListener.isAllFinite(
                            m.create(new float[] {Float.POSITIVE_INFINITY, 0})));
            assertEquals(
                    false,
                    NonFiniteCheckListener.isAllFinite(
                            m.create(
                                    new float[] {
                                        Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY
                                    })));
            assertEquals(
                    false,
                    NonFiniteCheckListener.isAllFinite(
                            m.create(new float[] {-max, Float.NEGATIVE_INFINITY})));
        }
    }

    private static LbpTrainingListener listener(NonFiniteAction action) {
        return LbpTrainingListener.builder()
                .optRewriter(
                        LbpRewriter.builder()
                                .optConfig(
                                        LbpConfig.builder()
                                                .optLayout(TokenLayout.grid(1, 8, 8))
                                                .build())
                                .build())
                .optOnNonFinite(action)
                .build();
    }

    /** A batch in its own sub-manager (closing a Batch closes its manager). */
    private static Batch batch(NDManager parent, boolean poison) {
        NDManager m = parent.newSubManager();
        NDArray x =
                m.randomNormal(
                        new Shape(
                                LbpTrainingListenerTest.BATCH,
                                LbpTrainingListenerTest.TOKENS,
                                LbpTrainingListenerTest.C));
        if (poison) {
            x.set(new ai.djl.ndarray.index.NDIndex("0, 5, 2"), Float.NaN);
        }
        NDArray y = m.zeros(new Shape(LbpTrainingListenerTest.BATCH));
        return new Batch(
                m,
                new NDList(x),
                new NDList(y),
                LbpTrainingListenerTest.BATCH,
                Batchifier.STACK,
                Batchifier.STACK,
                0,
                1);
    }

    private static Trainer trainer(Model model, LbpTrainingListener lbp) {
        model.setBlock(LbpTrainingListenerTest.net());
        DefaultTrainingConfig cfg =
                new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                        .optOptimizer(
                                Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.1f)).build())
                        .addTrainingListeners(lbp);
        Trainer trainer = model.newTrainer(cfg);
        trainer.initialize(
                new Shape(
                        LbpTrainingListenerTest.BATCH,
                        LbpTrainingListenerTest.TOKENS,
                        LbpTrainingListenerTest.C));
        return trainer;
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void stopNamesTheStepTheLossAndTheLayers(String engine) {
        Engine.getEngine(engine).setRandomSeed(3);
        try (Model model = Model.newInstance("nf", engine);
                Trainer trainer = trainer(model, listener(NonFiniteAction.STOP))) {
            NDManager m = trainer.getManager();
            for (int i = 0; i < 2; i++) {
                try (Batch b = batch(m, false)) {
                    EasyTrain.trainBatch(trainer, b);
                    trainer.step();
                }
            }
            try (Batch b = batch(m, true)) {
                TrainingDivergedException e =
                        assertThrows(
                                TrainingDivergedException.class,
                                () -> EasyTrain.trainBatch(trainer, b));
                assertTrue(e.getMessage().contains("step 3"), e.getMessage());
                // the NaN input token reaches layer 1's weight gradient on both engines; on PyTorch
                // it reaches the loss too, while MXNet's relu maps NaN to 0, so only the check of
                // the gradients finds it there
                assertTrue(e.getMessage().contains("1.weight gradient"), e.getMessage());
                if (engine.equals("PyTorch")) {
                    assertTrue(e.getMessage().contains("the loss (NaN)"), e.getMessage());
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void skipZeroesTheStepAndTrainingGoesOn(String engine) {
        Engine.getEngine(engine).setRandomSeed(3);
        LbpTrainingListener lbp = listener(NonFiniteAction.SKIP);
        try (Model model = Model.newInstance("nf", engine);
                Trainer trainer = trainer(model, lbp)) {
            NDManager m = trainer.getManager();
            Map<String, LbpLinear> layers = BlockTree.find(model.getBlock(), LbpLinear.class);
            assertEquals(2, layers.size());
            NDArray w = layers.values().iterator().next().getParameters().get("weight").getArray();
            try (Batch b = batch(m, false)) { // DJL's Trainer refuses an all-zero first step
                EasyTrain.trainBatch(trainer, b);
                trainer.step();
            }
            float[] before = w.toFloatArray();
            try (Batch b = batch(m, true)) {
                EasyTrain.trainBatch(trainer, b);
            }
            assertEquals(1, lbp.getSkippedSteps());
            for (LbpLinear l : layers.values()) {
                for (float g :
                        l.getParameters().get("weight").getArray().getGradient().toFloatArray()) {
                    assertEquals(0f, g, "gradients of a skipped step are zero");
                }
            }
            trainer.step();
            float[] after = w.toFloatArray();
            for (int i = 0; i < before.length; i++) {
                assertEquals(
                        before[i],
                        after[i],
                        "SGD leaves the weights of a skipped step as they were");
            }
            try (Batch b = batch(m, false)) {
                EasyTrain.trainBatch(trainer, b);
                trainer.step();
            }
            assertEquals(1, lbp.getSkippedSteps());
            float[] trained = w.toFloatArray();
            boolean moved = false;
            for (int i = 0; i < before.length; i++) {
                assertTrue(Float.isFinite(trained[i]));
                moved |= trained[i] != before[i];
            }
            assertTrue(moved, "a finite step trains");
        }
    }
}
