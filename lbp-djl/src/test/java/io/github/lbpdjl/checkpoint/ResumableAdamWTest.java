package io.github.lbpdjl.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.training.tracker.Tracker;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ResumableAdamWTest {

    static final float LR = 0.01f;
    static final float WD = 0.1f;
    static final double B1 = 0.9;
    static final double B2 = 0.999;
    static final double EPS = 1e-8;

    /** Independent AdamW in double precision: PyTorch's update rule. */
    static double[] reference(double[] w, double[][] grads) {
        double[] m = new double[w.length];
        double[] v = new double[w.length];
        double[] x = w.clone();
        for (int t = 1; t <= grads.length; t++) {
            for (int i = 0; i < x.length; i++) {
                double g = grads[t - 1][i];
                x[i] -= LR * WD * x[i];
                m[i] = B1 * m[i] + (1 - B1) * g;
                v[i] = B2 * v[i] + (1 - B2) * g * g;
                double mh = m[i] / (1 - Math.pow(B1, t));
                double vh = v[i] / (1 - Math.pow(B2, t));
                x[i] -= LR * mh / (Math.sqrt(vh) + EPS);
            }
        }
        return x;
    }

    static ResumableAdamW optimizer() {
        return ResumableAdamW.builder()
                .optLearningRateTracker(Tracker.fixed(LR))
                .optWeightDecays(WD)
                .build();
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void matchesAnIndependentAdamWAndResumesExactly(String engine) throws Exception {
        double[] w0 = {0.5, -1.0, 2.0, 0.0};
        double[][] grads = {
            {0.1, -0.2, 0.3, 0.0},
            {-0.05, 0.4, 0.1, 1.0},
            {0.2, 0.2, -0.3, -1.0},
            {1.0, 0.0, 0.5, 0.25}
        };
        double[] expected = reference(w0, grads);
        try (NDManager m = Engine.getEngine(engine).newBaseManager()) {
            Block block = Linear.builder().setUnits(1).optBias(false).build();
            block.initialize(m, DataType.FLOAT32, new Shape(1, 4));
            NDArray w = block.getParameters().get("weight").getArray();
            w.set(toFloat(w0));
            String id = block.getParameters().get("weight").getId();
            ByteArrayOutputStream saved = new ByteArrayOutputStream();
            try (ResumableAdamW first = optimizer()) {
                for (int t = 0; t < 2; t++) {
                    first.update(id, w, m.create(toFloat(grads[t]), new Shape(1, 4)));
                }
                first.saveState(block, saved);
            }
            try (ResumableAdamW second = optimizer()) {
                second.loadState(block, m, new ByteArrayInputStream(saved.toByteArray()));
                assertEquals(1, second.getStateSize());
                for (int t = 2; t < 4; t++) {
                    second.update(id, w, m.create(toFloat(grads[t]), new Shape(1, 4)));
                }
            }
            float[] got = w.toFloatArray();
            for (int i = 0; i < got.length; i++) {
                assertEquals(expected[i], got[i], 1e-6, engine + " weight " + i);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch"})
    void stateForAnotherArchitectureIsRefusedWithTheParameterNamed(String engine) throws Exception {
        try (NDManager m = Engine.getEngine(engine).newBaseManager()) {
            Block small = Linear.builder().setUnits(1).optBias(false).build();
            small.initialize(m, DataType.FLOAT32, new Shape(1, 4));
            Block big = Linear.builder().setUnits(2).optBias(false).build();
            big.initialize(m, DataType.FLOAT32, new Shape(1, 4));
            ByteArrayOutputStream saved = new ByteArrayOutputStream();
            try (ResumableAdamW o = optimizer()) {
                NDArray w = small.getParameters().get("weight").getArray();
                o.update(small.getParameters().get("weight").getId(), w, w.onesLike());
                o.saveState(small, saved);
            }
            try (ResumableAdamW o = optimizer()) {
                IllegalArgumentException e =
                        assertThrows(
                                IllegalArgumentException.class,
                                () ->
                                        o.loadState(
                                                big,
                                                m,
                                                new ByteArrayInputStream(saved.toByteArray())));
                assertTrue(
                        e.getMessage().contains("weight.") && e.getMessage().contains("(2, 4)"),
                        e.getMessage());
                assertThrows(
                        java.io.IOException.class,
                        () -> o.loadState(big, m, new ByteArrayInputStream(new byte[] {1, 2, 3})));
            }
        }
    }

    static float[] toFloat(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = (float) a[i];
        }
        return f;
    }
}
