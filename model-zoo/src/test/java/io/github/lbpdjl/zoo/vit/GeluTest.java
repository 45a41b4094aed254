package io.github.lbpdjl.zoo.vit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The zoo's GELU is the exact (erf) GELU, in value and derivative, on both engines; its tanh form
 * is PyTorch's {@code approximate='tanh'}.
 */
class GeluTest {

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void valuesAndGradientsAreExactGelu(String engine) {
        float[] xs = new float[121];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = -6f + 0.1f * i;
        }
        try (NDManager m = Engine.getEngine(engine).newBaseManager()) {
            NDArray x = m.create(xs).duplicate();
            x.setRequiresGradient(true);
            float[] y;
            try (GradientCollector gc = Engine.getEngine(engine).newGradientCollector()) {
                NDArray out = Gelu.gelu(x);
                y = out.toFloatArray();
                gc.backward(out.sum());
            }
            float[] g = x.getGradient().toFloatArray();
            for (int i = 0; i < xs.length; i++) {
                double v = xs[i];
                double cdf = 0.5 * (1 + ReferenceVit.erf(v / Math.sqrt(2)));
                double pdf = Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
                assertEquals(
                        v * cdf,
                        y[i],
                        2e-6 * Math.max(1, Math.abs(v)),
                        engine + " GELU(" + v + ")");
                assertEquals(
                        cdf + v * pdf,
                        g[i],
                        2e-6 * Math.max(1, Math.abs(v)),
                        engine + " GELU'(" + v + ")");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void tanhFormValuesAndGradients(String engine) {
        float[] xs = new float[121];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = -6f + 0.1f * i;
        }
        try (NDManager m = Engine.getEngine(engine).newBaseManager()) {
            NDArray x = m.create(xs).duplicate();
            x.setRequiresGradient(true);
            float[] y;
            try (GradientCollector gc = Engine.getEngine(engine).newGradientCollector()) {
                NDArray out = Gelu.geluTanh(x);
                y = out.toFloatArray();
                gc.backward(out.sum());
            }
            float[] g = x.getGradient().toFloatArray();
            double c = Math.sqrt(2 / Math.PI);
            for (int i = 0; i < xs.length; i++) {
                double v = xs[i];
                double u = c * (v + 0.044715 * v * v * v);
                double t = Math.tanh(u);
                double dt = (1 - t * t) * c * (1 + 3 * 0.044715 * v * v);
                double tol = 2e-6 * Math.max(1, Math.abs(v));
                assertEquals(0.5 * v * (1 + t), y[i], tol, engine + " GELU_tanh(" + v + ")");
                assertEquals(
                        0.5 * (1 + t) + 0.5 * v * dt, g[i], tol, engine + " GELU_tanh'(" + v + ")");
            }
        }
    }
}
