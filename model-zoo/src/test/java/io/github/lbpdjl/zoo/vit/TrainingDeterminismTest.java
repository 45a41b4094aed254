package io.github.lbpdjl.zoo.vit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.Batchifier;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.training.LbpTrainingListener;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import io.github.lbpdjl.zoo.VitVariant;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Training the zoo ViT with LBP-WHT and the gradient probes gives bit-identical losses whether or
 * not the garbage collector frees Java memory between forward and backward. Any tensor that
 * autograd keeps and that points into a Java buffer (e.g. DJL's {@code mul(Number)} on PyTorch)
 * makes the two runs differ: this is how the random NaN divergence of the adaptation runs was
 * found; the test fails with the old {@code x.mul(0.5)} GELU.
 */
class TrainingDeterminismTest {

    static final int STEPS = 12;
    static final int BATCH = 8;

    /** Frees what the collector can, then refills small direct buffers with NaN. */
    static void churn() {
        List<ByteBuffer> keep = new ArrayList<>();
        for (int round = 0; round < 3; round++) {
            System.gc();
            for (int i = 0; i < 3000; i++) {
                ByteBuffer b =
                        ByteBuffer.allocateDirect(4 + 4 * (i % 4)).order(ByteOrder.nativeOrder());
                while (b.remaining() >= 4) {
                    b.putFloat(Float.NaN);
                }
                keep.add(b);
            }
        }
        keep.clear();
    }

    static float[] losses(boolean churn) {
        Engine.getEngine("PyTorch").setRandomSeed(4);
        List<Float> seen = new ArrayList<>();
        try (Model model = Model.newInstance("vit", "PyTorch")) {
            VisionTransformer vit = VitVariant.VIT_MICRO_PATCH4_32.build();
            SequentialBlock net = new SequentialBlock().add(vit);
            if (churn) {
                net.add(
                        new LambdaBlock(
                                x -> {
                                    churn(); // after the forward pass, before backward
                                    return x;
                                }));
            }
            model.setBlock(net);
            LbpTrainingListener lbp =
                    LbpTrainingListener.builder()
                            .optRewriter(
                                    LbpRewriter.builder()
                                            .optTargets(TargetModules.regex(".*(qkv|proj|fc1|fc2)"))
                                            .optExclude(
                                                    TargetModules.regex(".*patch_embed.*|.*head"))
                                            .optConfig(
                                                    LbpConfig.builder()
                                                            .optSelection(
                                                                    BasisSelection.lowPassL1(2))
                                                            .build())
                                            .optLayout(TokenLayout.of(vit))
                                            .build())
                            .optEnergySampling(2)
                            .build();
            DefaultTrainingConfig cfg =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(
                                    Optimizer.adamW()
                                            .optLearningRateTracker(Tracker.fixed(1e-3f))
                                            .build())
                            .addTrainingListeners(lbp)
                            .addTrainingListeners(
                                    new TrainingListenerAdapter() {
                                        @Override
                                        public void onTrainingBatch(
                                                Trainer trainer, BatchData data) {
                                            for (Device d : data.getLabels().keySet()) {
                                                seen.add(
                                                        trainer.getLoss()
                                                                .evaluate(
                                                                        data.getLabels().get(d),
                                                                        data.getPredictions()
                                                                                .get(d))
                                                                .getFloat());
                                            }
                                        }
                                    });
            try (Trainer trainer = model.newTrainer(cfg)) {
                trainer.initialize(new Shape(BATCH, 1, 32, 32));
                NDManager m = trainer.getManager();
                Engine.getEngine("PyTorch").setRandomSeed(9);
                NDArray xs = m.randomNormal(new Shape(STEPS, BATCH, 1, 32, 32));
                NDArray ys = m.randomInteger(0, 10, new Shape(STEPS, BATCH), DataType.INT32);
                for (int s = 0; s < STEPS; s++) {
                    NDManager bm = m.newSubManager();
                    NDArray x = xs.get(s);
                    NDArray y = ys.get(s);
                    x.attach(bm);
                    y.attach(bm);
                    try (Batch b =
                            new Batch(
                                    bm,
                                    new NDList(x),
                                    new NDList(y),
                                    BATCH,
                                    Batchifier.STACK,
                                    Batchifier.STACK,
                                    s,
                                    STEPS)) {
                        EasyTrain.trainBatch(trainer, b);
                        trainer.step();
                    }
                }
            }
        }
        float[] out = new float[seen.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = seen.get(i);
        }
        return out;
    }

    @Test
    void lossesDoNotDependOnGarbageCollection() {
        float[] quiet = losses(false);
        float[] churned = losses(true);
        assertTrue(quiet.length == STEPS);
        for (float l : quiet) {
            assertTrue(Float.isFinite(l), "finite losses");
        }
        assertArrayEquals(
                quiet,
                churned,
                0f,
                "losses with and without garbage collection between forward and backward");
    }
}
