package io.github.lbpdjl.zoo;

import static io.github.lbpdjl.zoo.VitFixture.rel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
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
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The zoo's ViT equals timm's: eval outputs and parameter gradients of fixtures written by timm's
 * own code ({@link VitFixture}, {@code make_vit_fixtures.py}), on both engines, for every feature
 * the loader reads: plain, headless, DeiT distilled, avg pooling with fc_norm, register tokens with
 * no_embed_class and layer scale, no class token with the norm before average pooling, and
 * checkpoints at another image size whose position embeddings are resampled on load; and a model
 * with a tanh GELU or LayerNorm epsilon 1e-5 would fail.
 */
class VitTimmTest {

    /** Outputs and gradients: max |Java - timm| / max |timm|, per tensor. */
    static final double TOL = 2e-5;

    @ParameterizedTest
    @CsvSource({
        "PyTorch, vit_plain",
        "MXNet, vit_plain",
        "PyTorch, vit_headless",
        "MXNet, vit_headless",
        "PyTorch, deit_distilled",
        "MXNet, deit_distilled",
        "PyTorch, vit_avgpool",
        "MXNet, vit_avgpool",
        "PyTorch, vit_reg_ls",
        "MXNet, vit_reg_ls",
        "PyTorch, vit_gap",
        "MXNet, vit_gap",
        "PyTorch, vit_pos48to32",
        "MXNet, vit_pos48to32",
        "PyTorch, vit_reg_pos32to56",
        "MXNet, vit_reg_pos32to56"
    })
    void outputsAndGradientsEqualTimms(String engine, String fixture) throws Exception {
        VitFixture f = new VitFixture(fixture);
        VisionTransformer model = f.builder().build();
        try (Model m = Model.newInstance("vit", Device.cpu(), engine)) {
            m.setBlock(model);
            model.initialize(m.getNDManager());
            ImportResult r = VitWeights.load(model, f.weights);
            assertEquals(model.timmParameters().size(), r.getLoaded());
            assertTrue(r.getReinitialised().isEmpty(), r.getReinitialised().toString());
            boolean resampled = f.checkpointImageSize != f.imageSize();
            assertEquals(resampled ? List.of("pos_embed") : List.of(), r.getResampled());
            if (resampled) {
                double posErr =
                        rel(
                                model.timmParameters().get("pos_embed").getArray().toFloatArray(),
                                f.get("pos_embed_resampled"));
                report(engine, fixture, "pos_embed resampled vs timm's", posErr);
                assertTrue(posErr <= 1e-6, "pos_embed resampling error " + posErr);
            }

            float[] out = f.eval(model, m.getNDManager());
            double outErr = rel(out, f.get("logits"));
            report(engine, fixture, "eval output vs timm f32", outErr);
            report(engine, fixture, "eval output vs timm f64", rel(out, f.get("logits_f64")));
            assertTrue(outErr <= TOL, engine + " output error " + outErr);

            try (NDManager batch = m.getNDManager().newSubManager()) {
                NDArray x = batch.create(f.get("input"), model.getInputShape(f.batch));
                long width = f.numClasses() > 0 ? f.numClasses() : model.getEmbedDim();
                NDArray target = batch.create(f.get("target"), new Shape(f.batch, width));
                float[] trainOut;
                try (GradientCollector gc = Engine.getEngine(engine).newGradientCollector()) {
                    NDArray y =
                            model.forward(new ParameterStore(batch, false), new NDList(x), true)
                                    .singletonOrThrow();
                    trainOut = y.toFloatArray();
                    gc.backward(y.mul(target).sum());
                }
                double trainErr = rel(trainOut, f.get("train_logits"));
                assertTrue(trainErr <= TOL, engine + " train output error " + trainErr);
            }
            double worst = 0;
            String worstName = "";
            StringBuilder bad = new StringBuilder();
            int compared = 0;
            for (Map.Entry<String, Parameter> e : model.timmParameters().entrySet()) {
                float[] g = e.getValue().getArray().getGradient().toFloatArray();
                double err = rel(g, f.get("grad." + e.getKey()));
                compared++;
                if (err > worst) {
                    worst = err;
                    worstName = e.getKey();
                }
                if (err > TOL) {
                    bad.append(String.format(Locale.ROOT, " %s %.2e;", e.getKey(), err));
                }
            }
            report(engine, fixture, "gradients (worst: " + worstName + ")", worst);
            long timmParams = f.io.keySet().stream().filter(k -> k.startsWith("grad.")).count();
            assertEquals(timmParams, compared, "every timm parameter's gradient compared");
            assertTrue(bad.length() == 0, engine + " gradients off:" + bad);
        }
    }

    @ParameterizedTest
    @CsvSource({
        "PyTorch, vit_plain",
        "MXNet, vit_plain",
        "PyTorch, deit_distilled",
        "MXNet, vit_avgpool",
        "PyTorch, vit_reg_ls",
        "MXNet, vit_gap",
        "MXNet, vit_pos48to32"
    })
    void aTanhGeluOrLayerNormEpsilon1e5WouldFail(String engine, String fixture) throws Exception {
        VitFixture f = new VitFixture(fixture);
        double tanh = outputError(engine, f, f.builder().optActivation(Gelu::geluTanh).build());
        double eps = outputError(engine, f, f.builder().optLayerNormEps(1e-5f).build());
        report(engine, fixture, "output with tanh GELU", tanh);
        report(engine, fixture, "output with LayerNorm eps 1e-5", eps);
        assertTrue(tanh > 3 * TOL, "tanh GELU error " + tanh);
        assertTrue(eps > 10 * TOL, "LayerNorm eps 1e-5 error " + eps);
    }

    private static double outputError(String engine, VitFixture f, VisionTransformer model)
            throws Exception {
        try (Model m = Model.newInstance("vit", Device.cpu(), engine)) {
            m.setBlock(model);
            model.initialize(m.getNDManager());
            VitWeights.load(model, f.weights);
            return rel(f.eval(model, m.getNDManager()), f.get("logits"));
        }
    }

    static void report(String engine, String fixture, String what, double err) {
        System.out.printf(
                Locale.ROOT, "VIT-MEASURE %-7s %-18s %-40s %.3e%n", engine, fixture, what, err);
    }
}
