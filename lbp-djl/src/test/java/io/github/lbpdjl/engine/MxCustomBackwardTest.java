package io.github.lbpdjl.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.Padding;
import io.github.lbpdjl.wht.PatchProjection;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * MXNet's custom backward ({@link MxLbpBackward} through {@link MxCustomFunction}) is the one in
 * use on MXNet, gives the surrogate's gradients (which the layer tests check against independent
 * computations), and turns a failing callback into NaN gradients and an error at the next forward,
 * never a crash.
 */
class MxCustomBackwardTest {

    @AfterEach
    void restore() {
        MxLbpAdapter.setCustomBackward(true);
        ProjectionForms.setForm(ProjectionForms.Form.AUTO);
    }

    /** A plain map x W^T with gradients, as LinearMap is. */
    private static TokenwiseLinear plain(NDArray w) {
        return new TokenwiseLinear() {
            @Override
            public NDArray apply(NDArray x) {
                return ai.djl.nn.core.Linear.linear(x, w).singletonOrThrow();
            }

            @Override
            public NDArray applyFrozen(NDArray x, NDArray bias) {
                return ai.djl.nn.core.Linear.linear(x, w.stopGradient(), bias).singletonOrThrow();
            }

            @Override
            public NDArray getPlainWeight() {
                return w;
            }
        };
    }

    /** The gradients of sum(y * g) for x, W and b, with the custom backward on or off. */
    private static List<float[]> grads(
            boolean custom, int extra, int h, int w, BasisSelection s, Padding pad, boolean dense) {
        MxLbpAdapter.setCustomBackward(custom);
        ProjectionForms.setForm(dense ? ProjectionForms.Form.DENSE : ProjectionForms.Form.FACTORED);
        Engine mx = Engine.getEngine("MXNet");
        mx.setRandomSeed(7);
        TokenLayout layout = TokenLayout.grid(extra, h, w);
        PatchProjection pr = PatchProjection.of(layout, 8, s, pad);
        try (NDManager m = mx.newBaseManager()) {
            NDArray x = m.randomNormal(new Shape(2, layout.getTokenCount(), 6));
            NDArray weight = m.randomNormal(new Shape(5, 6));
            NDArray bias = m.randomNormal(new Shape(5));
            NDArray g = m.randomNormal(new Shape(2, layout.getTokenCount(), 5));
            for (NDArray a : new NDArray[] {x, weight, bias}) {
                a.setRequiresGradient(true);
            }
            ProjectionArrays p = ProjectionArrays.create(pr, m, DataType.FLOAT32);
            long[] before = MxCustomFunction.counts();
            NDArray y;
            try (GradientCollector gc = mx.newGradientCollector()) {
                y = new MxLbpAdapter().forward(x, plain(weight), bias, p);
                gc.backward(y.mul(g).sum());
            }
            // reading the gradients waits for them: MXNet runs the callback on its own thread
            List<float[]> out = new ArrayList<>();
            out.add(y.toFloatArray());
            for (NDArray a : new NDArray[] {x, weight, bias}) {
                out.add(a.getGradient().toFloatArray());
            }
            long[] after = MxCustomFunction.counts();
            assertEquals(custom ? 1 : 0, after[0] - before[0], "nodes recorded");
            assertEquals(custom ? 1 : 0, after[1] - before[1], "backward callbacks");
            assertNull(MxCustomFunction.takeFailure());
            return out;
        }
    }

    @Test
    void theCustomBackwardIsAvailableAndOnByDefault() {
        assertTrue(MxLbpAdapter.isCustomBackward(), "DJL's MXNet 1.9.1 has MXCustomFunctionRecord");
    }

    @ParameterizedTest
    @CsvSource({
        "1, 14, 14, 2, ZERO, true",
        "1, 14, 14, 4, REFLECT, false",
        "0, 28, 28, 2, ZERO, false",
        "2, 7, 10, 3, REFLECT, true",
        "2, 7, 10, 3, REFLECT, false",
        "0, 12, 20, 6, ZERO, false"
    })
    void givesTheSurrogatesValuesAndGradients(
            int extra, int h, int w, int order, Padding pad, boolean dense) {
        BasisSelection s = BasisSelection.lowPassL1(order);
        List<float[]> surrogate = grads(false, extra, h, w, s, pad, dense);
        List<float[]> custom = grads(true, extra, h, w, s, pad, dense);
        String[] names = {"y", "grad x", "grad W", "grad b"};
        for (int i = 0; i < names.length; i++) {
            float[] a = surrogate.get(i);
            float[] b = custom.get(i);
            assertEquals(a.length, b.length);
            double scale = 0;
            for (float v : a) {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int j = 0; j < a.length; j++) {
                assertEquals(a[j], b[j], 1e-5 * (1 + scale), names[i] + "[" + j + "]");
            }
        }
    }

    @Test
    void aFailingBackwardGivesNaNAndAnErrorAtTheNextForwardNotACrash() {
        Engine mx = Engine.getEngine("MXNet");
        try (NDManager m = mx.newBaseManager()) {
            NDArray x = m.create(new float[] {1, 2, 3});
            x.setRequiresGradient(true);
            try (GradientCollector gc = mx.newGradientCollector()) {
                NDArray y;
                boolean recording = ai.djl.mxnet.jna.JnaUtils.autogradSetIsRecording(false);
                try {
                    y = x.mul(2);
                } finally {
                    ai.djl.mxnet.jna.JnaUtils.autogradSetIsRecording(recording);
                }
                MxCustomFunction.record(
                        new NDList(x),
                        new NDList(y),
                        new MxCustomFunction.Backward() {
                            @Override
                            public NDList run(NDList outputGrads, NDManager manager) {
                                throw new IllegalStateException("test failure");
                            }

                            @Override
                            public void release() {}
                        });
                gc.backward(y.sum());
            }
            float[] g = x.getGradient().toFloatArray();
            for (float v : g) {
                assertTrue(Float.isNaN(v), "NaN gradient, not a silent value: " + v);
            }
            Throwable failure = MxCustomFunction.takeFailure();
            assertNotNull(failure);
            assertEquals("test failure", failure.getMessage());
            assertNull(MxCustomFunction.takeFailure(), "taken once");
        }
    }

    @Test
    void writesGradientsTheWayAutogradAsks() {
        // a plain custom node: y = 2 x, backward 2 gy; written (not added) into the gradient
        Engine mx = Engine.getEngine("MXNet");
        try (NDManager m = mx.newBaseManager()) {
            NDArray x = m.create(new float[] {1, 2, 3});
            x.setRequiresGradient(true);
            for (int pass = 0; pass < 2; pass++) {
                try (GradientCollector gc = mx.newGradientCollector()) {
                    NDArray y;
                    boolean recording = ai.djl.mxnet.jna.JnaUtils.autogradSetIsRecording(false);
                    try {
                        y = x.mul(2);
                    } finally {
                        ai.djl.mxnet.jna.JnaUtils.autogradSetIsRecording(recording);
                    }
                    MxCustomFunction.record(
                            new NDList(x),
                            new NDList(y),
                            new MxCustomFunction.Backward() {
                                @Override
                                public NDList run(NDList outputGrads, NDManager manager) {
                                    return new NDList(outputGrads.singletonOrThrow().mul(2));
                                }

                                @Override
                                public void release() {}
                            });
                    gc.backward(y.mul(m.create(new float[] {1, 10, 100})).sum());
                }
                assertArrayEquals(
                        new float[] {2, 20, 200},
                        x.getGradient().toFloatArray(),
                        "MXNet overwrites: the same after a second pass");
            }
        }
    }
}
