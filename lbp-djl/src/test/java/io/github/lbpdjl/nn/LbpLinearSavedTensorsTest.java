package io.github.lbpdjl.nn;

import static io.github.lbpdjl.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.engine.Engine;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.testing.LayerRun;
import io.github.lbpdjl.testing.ReferenceLbp;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.Padding;
import io.github.lbpdjl.wht.TokenLayout;
import org.junit.jupiter.api.Test;

/**
 * The layer's backward must not need its full input x, only the k projected coefficients per patch.
 * PyTorch checks this for us: a tensor saved for backward that is modified in place makes backward
 * fail. So: forward, overwrite x in place, backward. Plain Linear (which saves x for its weight
 * gradient) fails that way; LbpLinear must not, and its weight gradient must still be the LBP-WHT
 * one of the original x.
 */
class LbpLinearSavedTensorsTest {

    private static NDArray[] forwardOverwriteBackward(NDManager m, Block block, LayerRun.Data d) {
        int n = d.x[0].length;
        Shape shape = new Shape(d.x.length, n, d.w[0].length);
        block.initialize(m, DataType.FLOAT32, shape);
        NDArray w = block.getParameters().get("weight").getArray();
        w.set(LayerRun.flat(new double[][][] {d.w}));
        NDArray leaf = m.create(LayerRun.flat(d.x), shape);
        leaf.setRequiresGradient(true);
        NDArray gy = m.create(LayerRun.flat(d.gy), new Shape(d.x.length, n, d.w.length));
        try (GradientCollector gc = m.getEngine().newGradientCollector()) {
            NDArray x = leaf.mul(1); // a non-leaf, so that it may be modified in place
            NDArray y =
                    block.forward(new ParameterStore(m, false), new NDList(x), true)
                            .singletonOrThrow();
            x.muli(0); // x is gone; only what autograd saved remains
            gc.backward(y.mul(gy).sum());
        }
        return new NDArray[] {w.getGradient()};
    }

    /**
     * The layer closes its forward intermediates early. Anything autograd still needs must live in
     * engine memory: PyTorch arrays made from Java data wrap a direct buffer that is released on
     * close. Between forward and backward, collect garbage and scribble over fresh direct buffers;
     * the gradients must still be right.
     */
    @Test
    void backwardSurvivesGarbageCollectionOfJavaBuffers() {
        LayerRun.Data d = new LayerRun.Data(23, 2, 197, 6, 5);
        LbpConfig config =
                LbpConfig.builder()
                        .optSelection(BasisSelection.lowPassL1(4))
                        .optLayout(TokenLayout.grid(1, 14, 14))
                        .build();
        for (int round = 0; round < 5; round++) {
            try (NDManager m = Engine.getEngine("PyTorch").newBaseManager()) {
                LbpLinear layer = LbpLinear.builder().setUnits(5).optConfig(config).build();
                Shape shape = new Shape(2, 197, 6);
                layer.initialize(m, DataType.FLOAT32, shape);
                NDArray w = layer.getParameters().get("weight").getArray();
                w.set(LayerRun.flat(new double[][][] {d.w}));
                NDArray x = m.create(LayerRun.flat(d.x), shape);
                x.setRequiresGradient(true);
                NDArray gy = m.create(LayerRun.flat(d.gy), new Shape(2, 197, 5));
                try (GradientCollector gc = m.getEngine().newGradientCollector()) {
                    NDArray y =
                            layer.forward(new ParameterStore(m, false), new NDList(x), true)
                                    .singletonOrThrow();
                    for (int i = 0; i < 20; i++) {
                        System.gc();
                        java.nio.ByteBuffer junk = java.nio.ByteBuffer.allocateDirect(4 * 197 * 64);
                        while (junk.hasRemaining()) {
                            junk.put((byte) 0x7f);
                        }
                    }
                    gc.backward(y.mul(gy).sum());
                }
                ReferenceLbp.Grads ref =
                        ReferenceLbp.lbp(
                                d.x,
                                d.w,
                                d.gy,
                                1,
                                14,
                                14,
                                8,
                                config.getSelection().bases(8),
                                Padding.ZERO);
                assertClose(
                        LayerRun.unflat(x.getGradient().toFloatArray(), 2, 197, 6),
                        ref.x,
                        2e-5,
                        "grad_x, round " + round);
                assertClose(
                        LayerRun.unflat(w.getGradient().toFloatArray(), 1, 5, 6)[0],
                        ref.w,
                        2e-5,
                        "grad_W, round " + round);
            }
        }
    }

    @Test
    void backwardDoesNotNeedTheInput() {
        LayerRun.Data d = new LayerRun.Data(17, 2, 197, 6, 5);
        LbpConfig config =
                LbpConfig.builder()
                        .optSelection(BasisSelection.lowPassL1(2))
                        .optLayout(TokenLayout.grid(1, 14, 14))
                        .build();
        try (NDManager m = Engine.getEngine("PyTorch").newBaseManager()) {
            // control: Linear keeps x, so the same procedure fails
            assertThrows(
                    EngineException.class,
                    () -> forwardOverwriteBackward(m, Linear.builder().setUnits(5).build(), d));
            NDArray gw =
                    forwardOverwriteBackward(
                            m, LbpLinear.builder().setUnits(5).optConfig(config).build(), d)[0];
            ReferenceLbp.Grads ref =
                    ReferenceLbp.lbp(
                            d.x,
                            d.w,
                            d.gy,
                            1,
                            14,
                            14,
                            8,
                            config.getSelection().bases(8),
                            Padding.ZERO);
            assertClose(
                    LayerRun.unflat(gw.toFloatArray(), 1, 5, 6)[0],
                    ref.w,
                    2e-5,
                    "grad_W from the coefficients");
        }
    }
}
