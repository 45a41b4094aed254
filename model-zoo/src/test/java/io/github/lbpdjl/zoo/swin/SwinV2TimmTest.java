package io.github.lbpdjl.zoo.swin;

import static io.github.lbpdjl.zoo.swin.SwinFixture.rel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.zoo.vit.Gelu;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The SwinV2 equals timm's: eval logits and parameter gradients of fixtures written by timm's own
 * code (see {@link SwinFixture}), on both engines; a model with a tanh GELU, timm's ViT LayerNorm
 * epsilon (1e-6 instead of 1e-5) or without the logit-scale clamp would fail.
 */
class SwinV2TimmTest {

    /** Logits: max |Java - timm| / max |timm|. */
    static final double LOGITS_TOL = 2e-5;

    /**
     * Gradients, per parameter tensor: max |Java - timm f64| / max |timm f64| within this, or
     * within {@link #NOISE_FACTOR} times timm's own float32 error on that tensor where that is
     * larger (up to 7e-5 here: the cosine attention with logit scales up to 100 amplifies float32
     * rounding in the early layers).
     */
    static final double GRAD_TOL = 2e-5;

    /** How far beyond timm's own float32 gradient error the Java gradient may be. */
    static final double NOISE_FACTOR = 2;

    @ParameterizedTest
    @CsvSource({
        "PyTorch, swinv2_tiny2_w8_64",
        "MXNet, swinv2_tiny2_w8_64",
        "PyTorch, swinv2_tiny3_w4_32x64",
        "MXNet, swinv2_tiny3_w4_32x64"
    })
    void logitsAndGradientsEqualTimms(String engine, String fixture) throws Exception {
        SwinFixture f = new SwinFixture(fixture);
        SwinTransformerV2 model = f.builder().build();
        try (Model m = f.load(model, engine)) {
            float[] logits = f.eval(model, m.getNDManager());
            double logitsErr = rel(logits, f.get("logits"));
            report(engine, fixture, "eval logits vs timm f32", logitsErr);
            report(engine, fixture, "eval logits vs timm f64", rel(logits, f.get("logits_f64")));
            assertTrue(logitsErr <= LOGITS_TOL, engine + " logits error " + logitsErr);

            NDManager mm = m.getNDManager();
            try (NDManager batch = mm.newSubManager()) {
                NDArray x = batch.create(f.get("input"), model.getInputShape(f.batch));
                NDArray target =
                        batch.create(f.get("target"), new Shape(f.batch, model.getNumClasses()));
                try (GradientCollector gc = Engine.getEngine(engine).newGradientCollector()) {
                    NDArray out =
                            model.forward(new ParameterStore(batch, false), new NDList(x), true)
                                    .singletonOrThrow();
                    gc.backward(out.mul(target).sum());
                }
            }
            double worst = 0;
            double worstRatio = 0;
            String worstName = "";
            StringBuilder bad = new StringBuilder();
            int compared = 0;
            for (Map.Entry<String, Parameter> e : model.timmParameters().entrySet()) {
                float[] g = e.getValue().getArray().getGradient().toFloatArray();
                float[] exact = f.get("grad_f64." + e.getKey());
                // timm's own float32 distance from its float64 gradient, per tensor
                double timmNoise = gradError(f.get("grad." + e.getKey()), exact);
                double err = gradError(g, exact);
                double allowed = Math.max(GRAD_TOL, NOISE_FACTOR * timmNoise);
                compared++;
                if (err > worst) {
                    worst = err;
                    worstName = e.getKey();
                }
                worstRatio = Math.max(worstRatio, err / Math.max(timmNoise, 1e-12));
                if (!(err <= allowed)) {
                    bad.append(
                            String.format(
                                    Locale.ROOT,
                                    " %s %.2e (timm f32 %.2e);",
                                    e.getKey(),
                                    err,
                                    timmNoise));
                }
            }
            report(engine, fixture, "gradients vs timm f64 (worst: " + worstName + ")", worst);
            report(engine, fixture, "gradients: worst (Java error / timm f32 error)", worstRatio);
            long timmParams = f.io.keySet().stream().filter(k -> k.startsWith("grad.")).count();
            assertEquals(timmParams, compared, "every timm parameter's gradient compared");
            assertTrue(bad.length() == 0, engine + " gradients off:" + bad);
        }
    }

    @ParameterizedTest
    @CsvSource({"PyTorch, swinv2_tiny2_w8_64", "MXNet, swinv2_tiny3_w4_32x64"})
    void aTanhGeluOrAnotherLayerNormEpsilonWouldFail(String engine, String fixture)
            throws Exception {
        SwinFixture f = new SwinFixture(fixture);
        double tanh = logitsError(engine, f, f.builder().optActivation(Gelu::geluTanh).build());
        double eps = logitsError(engine, f, f.builder().optLayerNormEps(1e-6f).build());
        report(engine, fixture, "logits with tanh GELU", tanh);
        report(engine, fixture, "logits with LayerNorm eps 1e-6", eps);
        assertTrue(tanh > 10 * LOGITS_TOL, "tanh GELU error " + tanh);
        assertTrue(eps > 10 * LOGITS_TOL, "LayerNorm eps 1e-6 error " + eps);
    }

    /**
     * max |got - want| / max |want|; for an all-zero tensor (a head whose logit scale is clamped
     * and so gets no gradient) max |got| itself.
     */
    private static double gradError(float[] got, float[] want) {
        double scale = 0;
        double got0 = 0;
        for (int i = 0; i < want.length; i++) {
            scale = Math.max(scale, Math.abs(want[i]));
            got0 = Math.max(got0, Math.abs(got[i]));
        }
        return scale == 0 ? got0 : rel(got, want);
    }

    private static double logitsError(String engine, SwinFixture f, SwinTransformerV2 model)
            throws Exception {
        try (Model m = f.load(model, engine)) {
            return rel(f.eval(model, m.getNDManager()), f.get("logits"));
        }
    }

    private static void report(String engine, String fixture, String what, double err) {
        System.out.printf(
                Locale.ROOT, "SWIN-MEASURE %-7s %-22s %-50s %.3e%n", engine, fixture, what, err);
    }
}
