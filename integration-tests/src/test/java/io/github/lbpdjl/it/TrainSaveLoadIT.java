package io.github.lbpdjl.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
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
import ai.djl.translate.NoopTranslator;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.training.LbpTrainingListener;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Rewrite with the listener, train, save, load into a fresh plain model: same outputs. */
class TrainSaveLoadIT {

    static final int BATCH = 16;

    /** A learnable task: the class is which of 4 quadrants of the grid has the brightest mean. */
    static ArrayDataset data(NDManager m, int samples) {
        NDArray x = m.randomNormal(new Shape(samples, TinyTransformer.TOKENS, 3));
        NDArray grid =
                x.get(":, 1:, 0")
                        .reshape(samples, 2, 4, 2, 4)
                        .mean(new int[] {4})
                        .mean(new int[] {2})
                        .reshape(samples, 4);
        NDArray y = grid.argMax(1);
        return new ArrayDataset.Builder().setData(x).optLabels(y).setSampling(BATCH, false).build();
    }

    static float meanLoss(Trainer trainer, ArrayDataset ds) throws Exception {
        float sum = 0;
        int n = 0;
        for (Batch b : trainer.iterateDataset(ds)) {
            NDArray pred = trainer.evaluate(b.getData()).singletonOrThrow();
            sum += trainer.getLoss().evaluate(b.getLabels(), new NDList(pred)).getFloat();
            n++;
            b.close();
        }
        return sum / n;
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void listenerTrainsThenPlainModelReloadsTheWeights(String engine) throws Exception {
        Engine.getEngine(engine).setRandomSeed(11);
        Path dir = Files.createTempDirectory("lbp-it");
        NDArray probe;
        float[] expected;
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
                            .optFrozen(TargetModules.regex(".*norm.*"))
                            .optUndoAtEnd(true)
                            .build();
            DefaultTrainingConfig cfg =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(
                                    Optimizer.adam()
                                            .optLearningRateTracker(Tracker.fixed(3e-3f))
                                            .build())
                            .addTrainingListeners(lbp);
            ArrayDataset train = data(model.getNDManager(), 256);
            try (Trainer trainer = model.newTrainer(cfg)) {
                trainer.initialize(new Shape(BATCH, TinyTransformer.TOKENS, 3));
                // token embedding + 2 encoders x (key, query, value, result, fc1, fc2); not the
                // head
                assertEquals(13, BlockTree.find(model.getBlock(), LbpLinear.class).size());
                float before = meanLoss(trainer, train);
                EasyTrain.fit(trainer, 4, train, null);
                float after = meanLoss(trainer, train);
                assertTrue(after < 0.9f * before, engine + ": loss " + before + " -> " + after);
            }
            // undone at the end: the model is plain Linear again, with the trained weights
            assertTrue(BlockTree.find(model.getBlock(), LbpLinear.class).isEmpty());
            probe = model.getNDManager().randomNormal(new Shape(3, TinyTransformer.TOKENS, 3));
            try (Predictor<NDList, NDList> p = model.newPredictor(new NoopTranslator())) {
                expected = p.predict(new NDList(probe)).singletonOrThrow().toFloatArray();
            }
            model.save(dir, "tiny");
            float[] x = probe.toFloatArray();
            try (Model fresh = Model.newInstance("tiny", engine)) {
                fresh.setBlock(TinyTransformer.create());
                fresh.load(dir, "tiny");
                try (Predictor<NDList, NDList> p = fresh.newPredictor(new NoopTranslator())) {
                    NDArray in = fresh.getNDManager().create(x, probe.getShape());
                    assertArrayEquals(
                            expected,
                            p.predict(new NDList(in)).singletonOrThrow().toFloatArray(),
                            1e-5f);
                }
            }
        }
    }
}
