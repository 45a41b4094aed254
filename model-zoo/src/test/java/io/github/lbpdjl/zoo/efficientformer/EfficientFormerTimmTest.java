package io.github.lbpdjl.zoo.efficientformer;

import static io.github.lbpdjl.zoo.efficientformer.TimmFixture.rel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.safetensors.Tensor;
import io.github.lbpdjl.zoo.EfficientFormerWeights;
import io.github.lbpdjl.zoo.ImportResult;
import io.github.lbpdjl.zoo.vit.Gelu;
import java.io.IOException;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The EfficientFormer equals timm's: eval logits and train-mode parameter gradients of fixtures
 * written by timm's own code (see {@link TimmFixture}), on both engines; and a model with a tanh
 * GELU or timm's ViT LayerNorm epsilon (1e-6 instead of EfficientFormer's 1e-5) would fail.
 */
class EfficientFormerTimmTest {

    /** Logits: max |Java - timm| / max |timm|. */
    static final double LOGITS_TOL = 2e-5;

    /** Gradients, per parameter tensor: max |Java - timm| / max |timm|. */
    static final double GRAD_TOL = 1e-4;

    @ParameterizedTest
    @CsvSource({
        "PyTorch, efficientformer_tiny3_112",
        "MXNet, efficientformer_tiny3_112",
        "PyTorch, efficientformer_tiny2_56",
        "MXNet, efficientformer_tiny2_56"
    })
    void logitsAndGradientsEqualTimms(String engine, String fixture) throws Exception {
        TimmFixture f = new TimmFixture(fixture);
        EfficientFormer model = f.builder().build();
        try (Model m = Model.newInstance("ef", Device.cpu(), engine)) {
            m.setBlock(model);
            model.initialize(m.getNDManager());
            ImportResult r = EfficientFormerWeights.load(model, f.weights);
            assertEquals(model.timmParameters().size(), r.getLoaded());
            assertTrue(r.getReinitialised().isEmpty());

            float[] logits = f.eval(model, m.getNDManager());
            double logitsErr = rel(logits, f.get("logits"));
            report(engine, fixture, "eval logits vs timm f32", logitsErr);
            report(engine, fixture, "eval logits vs timm f64", rel(logits, f.get("logits_f64")));
            assertTrue(logitsErr <= LOGITS_TOL, engine + " logits error " + logitsErr);

            NDManager mm = m.getNDManager();
            double worstGrad = 0;
            String worstName = "";
            StringBuilder bad = new StringBuilder();
            try (NDManager batch = mm.newSubManager()) {
                NDArray x = batch.create(f.get("input"), model.getInputShape(f.batch));
                NDArray target =
                        batch.create(f.get("target"), new Shape(f.batch, model.getNumClasses()));
                float[] trainLogits;
                try (GradientCollector gc = Engine.getEngine(engine).newGradientCollector()) {
                    NDArray out =
                            model.forward(new ParameterStore(batch, false), new NDList(x), true)
                                    .singletonOrThrow();
                    NDArray loss = out.mul(target).sum();
                    trainLogits = out.toFloatArray();
                    gc.backward(loss);
                }
                double trainErr = rel(trainLogits, f.get("train_logits"));
                report(engine, fixture, "train logits vs timm", trainErr);
                assertTrue(trainErr <= LOGITS_TOL, engine + " train logits error " + trainErr);
            }
            // G: the largest timm gradient of any parameter
            double scale = 0;
            for (String k : f.io.keySet()) {
                if (k.startsWith("grad.")) {
                    scale = Math.max(scale, maxAbs(f.get(k)));
                }
            }
            int compared = 0;
            double worstNoise = 0;
            for (Map.Entry<String, Parameter> e : model.timmParameters().entrySet()) {
                Parameter p = e.getValue();
                if (!p.requiresGradient()) {
                    continue;
                }
                float[] g = p.getArray().getGradient().toFloatArray();
                float[] want = f.get("grad." + e.getKey());
                compared++;
                if (isBiasBeforeBatchNorm(model, e.getKey())) {
                    // exactly zero in exact arithmetic: train-mode BatchNorm subtracts the batch
                    // mean, so a constant added before it changes nothing; both sides give noise
                    double noise = Math.max(maxAbs(g), maxAbs(want)) / scale;
                    worstNoise = Math.max(worstNoise, noise);
                    if (noise > GRAD_TOL) {
                        bad.append(
                                String.format(Locale.ROOT, " %s noise %.2e;", e.getKey(), noise));
                    }
                    continue;
                }
                double err = rel(g, want);
                if (err > worstGrad) {
                    worstGrad = err;
                    worstName = e.getKey();
                }
                if (err > GRAD_TOL) {
                    bad.append(String.format(Locale.ROOT, " %s %.2e;", e.getKey(), err));
                }
            }
            report(engine, fixture, "gradients (worst: " + worstName + ")", worstGrad);
            report(engine, fixture, "conv biases before BatchNorm: max |g| / G", worstNoise);
            long timmParams = f.io.keySet().stream().filter(k -> k.startsWith("grad.")).count();
            assertEquals(timmParams, compared, "every timm parameter's gradient compared");
            assertTrue(bad.length() == 0, engine + " gradients off:" + bad);

            checkRunningStatistics(engine, f, model);
        }
    }

    /**
     * After the train-mode forward, the BatchNorm statistics are timm's on PyTorch (momentum 0.1,
     * the unbiased batch variance). MXNet's BatchNorm updates the running variance with the biased
     * batch variance: (n - 1) / n times PyTorch's, n = batch x H x W; checked as such.
     */
    private static void checkRunningStatistics(String engine, TimmFixture f, EfficientFormer model)
            throws IOException {
        Map<String, Tensor> before = SafetensorsFile.readAll(f.weights);
        double worst = 0;
        for (Map.Entry<String, Block> e : model.namedModules().entrySet()) {
            if (!(e.getValue() instanceof BatchNorm)) {
                continue;
            }
            String path = e.getKey();
            Map<String, Parameter> p = model.timmParameters();
            float[] mean = p.get(path + ".running_mean").getArray().toFloatArray();
            worst = Math.max(worst, rel(mean, f.get("after_train." + path + ".running_mean")));
            float[] var = p.get(path + ".running_var").getArray().toFloatArray();
            float[] timmVar = f.get("after_train." + path + ".running_var");
            if (engine.equals("MXNet")) {
                Shape in = e.getValue().getInputShapes()[0];
                double n = (double) f.batch * in.get(2) * in.get(3);
                float[] old = before.get(path + ".running_var").toFloatArray();
                for (int i = 0; i < timmVar.length; i++) {
                    double unbiased = (timmVar[i] - 0.9 * old[i]) / 0.1;
                    timmVar[i] = (float) (0.9 * old[i] + 0.1 * unbiased * (n - 1) / n);
                }
            }
            worst = Math.max(worst, rel(var, timmVar));
        }
        report(engine, f.name, "running statistics after the train step", worst);
        assertTrue(worst <= LOGITS_TOL, engine + " running statistics " + worst);
    }

    @ParameterizedTest
    @CsvSource({
        "PyTorch, efficientformer_tiny3_112",
        "MXNet, efficientformer_tiny3_112",
        "PyTorch, efficientformer_tiny2_56",
        "MXNet, efficientformer_tiny2_56"
    })
    void aTanhGeluOrAnotherLayerNormEpsilonWouldFail(String engine, String fixture)
            throws Exception {
        TimmFixture f = new TimmFixture(fixture);
        double tanh = logitsError(engine, f, f.builder().optActivation(Gelu::geluTanh).build());
        double eps = logitsError(engine, f, f.builder().optLayerNormEps(1e-6f).build());
        report(engine, fixture, "logits with tanh GELU", tanh);
        report(engine, fixture, "logits with LayerNorm eps 1e-6", eps);
        assertTrue(tanh > 10 * LOGITS_TOL, "tanh GELU error " + tanh);
        assertTrue(eps > 10 * LOGITS_TOL, "LayerNorm eps 1e-6 error " + eps);
    }

    /** A convolution's bias: every convolution of EfficientFormer feeds a BatchNorm. */
    private static boolean isBiasBeforeBatchNorm(EfficientFormer model, String name) {
        return name.endsWith(".bias")
                && model.getModule(name.substring(0, name.length() - 5)) instanceof Conv2d;
    }

    private static double maxAbs(float[] v) {
        double m = 0;
        for (float x : v) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }

    private static double logitsError(String engine, TimmFixture f, EfficientFormer model)
            throws Exception {
        try (Model m = Model.newInstance("ef", Device.cpu(), engine)) {
            m.setBlock(model);
            model.initialize(m.getNDManager());
            EfficientFormerWeights.load(model, f.weights);
            return rel(f.eval(model, m.getNDManager()), f.get("logits"));
        }
    }

    private static void report(String engine, String fixture, String what, double err) {
        System.out.printf(
                Locale.ROOT, "EF-MEASURE %-7s %-26s %-45s %.3e%n", engine, fixture, what, err);
    }
}
