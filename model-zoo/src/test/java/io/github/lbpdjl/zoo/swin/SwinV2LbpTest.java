package io.github.lbpdjl.zoo.swin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.RewriteReport;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.Padding;
import io.github.lbpdjl.wht.PatchProjection;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LBP-WHT on SwinV2: the rewriter takes each layer's token grid from the model ({@link
 * SwinTransformerV2#getLayerGrids()}): a window for the attention, the stage's map for the MLP, the
 * merged map for the patch merging's reduction, non-square ones included; and for one layer of each
 * kind the weight gradient is the projection of the exact one, {@code (Qs gy)^T (Q x)} per window
 * or map with the dense matrices applied to the exact output gradient gy and input x of that layer,
 * recorded in an exact run of the same model.
 */
class SwinV2LbpTest {

    private static final LbpConfig LP_L1_2 =
            LbpConfig.builder().optSelection(BasisSelection.lowPassL1(2)).build();

    private static final TargetModules TOKENWISE =
            TargetModules.names("qkv", "proj", "fc1", "fc2", "reduction");

    @Test
    void eachLayerGetsItsGridFromTheModel() throws Exception {
        SwinFixture f = new SwinFixture(SwinFixture.TINY3);
        SwinTransformerV2 model = f.builder().build();
        try (Model m = f.load(model, "PyTorch")) {
            Map<String, TokenLayout> plan =
                    LbpRewriter.builder().optTargets(TOKENWISE).optConfig(LP_L1_2).build().plan(m);
            // 32x64 image, patch 4: stage maps 8x16, 4x8, 2x4; windows 4x4, 4x4, 2x4
            assertEquals(TokenLayout.grid(0, 4, 4), plan.get("layers.0.blocks.1.attn.qkv"));
            assertEquals(TokenLayout.grid(0, 8, 16), plan.get("layers.0.blocks.0.mlp.fc1"));
            assertEquals(TokenLayout.grid(0, 4, 8), plan.get("layers.1.downsample.reduction"));
            assertEquals(TokenLayout.grid(0, 4, 4), plan.get("layers.1.blocks.1.attn.proj"));
            assertEquals(TokenLayout.grid(0, 2, 4), plan.get("layers.2.downsample.reduction"));
            assertEquals(TokenLayout.grid(0, 2, 4), plan.get("layers.2.blocks.0.attn.qkv"));
            assertEquals(TokenLayout.grid(0, 2, 4), plan.get("layers.2.blocks.1.mlp.fc2"));
            // 6 blocks x 4 layers + 2 reductions
            assertEquals(26, plan.size());
            // all-linear (the default) takes the same layers: the position-bias MLPs see no
            // tokens, the head is the output layer
            RewriteReport all = LbpRewriter.builder().optConfig(LP_L1_2).build().apply(model);
            assertEquals(plan.keySet(), new java.util.LinkedHashSet<>(all.getReplaced()));
            assertTrue(
                    all.getLeftOut().get("layers.0.blocks.0.attn.cpb_mlp.0").contains("no token"),
                    all.getLeftOut().toString());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void everyTokenwiseLayerTrainsWithLbpAndInferenceStaysTimms(String engine) throws Exception {
        SwinFixture f = new SwinFixture(SwinFixture.TINY3);
        SwinTransformerV2 model = f.builder().build();
        try (Model m = f.load(model, engine)) {
            List<String> replaced =
                    LbpRewriter.builder()
                            .optTargets(TOKENWISE)
                            .optConfig(LP_L1_2)
                            .build()
                            .apply(model)
                            .getReplaced();
            assertEquals(26, replaced.size());
            // inference through LbpLinear is exactly Linear
            double err = SwinFixture.rel(f.eval(model, m.getNDManager()), f.get("logits"));
            assertTrue(err <= SwinV2TimmTest.LOGITS_TOL, engine + " logits " + err);
            trainStep(f, model, m, engine, () -> {});
            for (Map.Entry<String, Parameter> e : model.timmParameters().entrySet()) {
                float[] g = e.getValue().getArray().getGradient().toFloatArray();
                double norm = 0;
                for (float v : g) {
                    assertTrue(Float.isFinite(v), engine + " " + e.getKey());
                    norm += Math.abs(v);
                }
                assertTrue(norm > 0, engine + " no gradient for " + e.getKey());
            }
        }
    }

    @ParameterizedTest
    @CsvSource({
        "PyTorch, layers.0.blocks.1.attn.qkv",
        "PyTorch, layers.0.blocks.0.mlp.fc1",
        "PyTorch, layers.1.downsample.reduction",
        "MXNet, layers.0.blocks.1.attn.qkv",
        "MXNet, layers.1.blocks.0.mlp.fc2",
        "MXNet, layers.1.downsample.reduction"
    })
    void weightGradientIsTheProjectedExactOne(String engine, String path) throws Exception {
        SwinFixture f = new SwinFixture(SwinFixture.TINY2);

        // the exact run: the layer's input x and output gradient gy
        SwinTransformerV2 exact = f.builder().build();
        float[] x;
        float[] gy;
        Shape inShape;
        Shape outShape;
        float[] exactGrad;
        try (Model m = f.load(exact, engine)) {
            Block layer = exact.getModule(path);
            Recorder rec = new Recorder(layer);
            exact.replaceModule(path, rec);
            float[][] recorded = new float[1][];
            trainStep(
                    f, exact, m, engine, () -> recorded[0] = rec.leaf.getGradient().toFloatArray());
            gy = recorded[0];
            x = rec.input;
            inShape = rec.inputShape;
            outShape = rec.outputShape;
            exactGrad = layer.getParameters().get("weight").getArray().getGradient().toFloatArray();
        }

        // the LBP-WHT run: only this layer adapted, so gy above it is exact
        SwinTransformerV2 model = f.builder().build();
        float[] got;
        TokenLayout layout;
        try (Model m = f.load(model, engine)) {
            LbpRewriter.builder()
                    .optTargets(TargetModules.regex(Pattern.quote(path)))
                    .optConfig(LP_L1_2)
                    .build()
                    .apply(model);
            LbpLinear lbp = (LbpLinear) model.getModule(path);
            layout = lbp.getConfig().getLayout();
            trainStep(f, model, m, engine, () -> {});
            got = lbp.getParameters().get("weight").getArray().getGradient().toFloatArray();
        }

        int[] grid = exact.getLayerGrids().get(path);
        assertEquals(TokenLayout.grid(0, grid[0], grid[1]), layout, "layout from the model");
        int n = grid[0] * grid[1];
        int cin = (int) inShape.get(inShape.dimension() - 1);
        int cout = (int) outShape.get(outShape.dimension() - 1);
        int sequences = x.length / (n * cin);
        PatchProjection proj =
                PatchProjection.of(layout, 8, BasisSelection.lowPassL1(2), Padding.ZERO);
        float[] q = proj.gather();
        float[] qs = proj.spread();
        int rows = proj.getRows();
        double[] want = new double[cout * cin];
        for (int s = 0; s < sequences; s++) {
            double[] qx = project(q, rows, n, x, s * n * cin, cin);
            double[] sg = project(qs, rows, n, gy, s * n * cout, cout);
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < cout; o++) {
                    for (int i = 0; i < cin; i++) {
                        want[o * cin + i] += sg[r * cout + o] * qx[r * cin + i];
                    }
                }
            }
        }
        double err = rel(got, want);
        double fromExact = rel(got, toDouble(exactGrad));
        System.out.printf(
                Locale.ROOT,
                "SWIN-LBP %-7s %-32s %s rows %d: vs projected exact %.2e, vs exact %.2e%n",
                engine,
                path,
                layout,
                rows,
                err,
                fromExact);
        assertTrue(err <= 1e-4, engine + " " + path + " vs the projected exact gradient: " + err);
        assertTrue(fromExact > 1e-2, "LBP-WHT changed the gradient: " + fromExact);
    }

    private static void trainStep(
            SwinFixture f,
            SwinTransformerV2 model,
            Model m,
            String engine,
            Runnable afterBackward) {
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
            afterBackward.run();
        }
    }

    /** M x C: the dense matrix (M x N) times one sequence's rows (N x C) of a flat array. */
    private static double[] project(float[] mat, int rows, int n, float[] a, int off, int c) {
        double[] out = new double[rows * c];
        for (int r = 0; r < rows; r++) {
            for (int t = 0; t < n; t++) {
                double w = mat[r * n + t];
                if (w != 0) {
                    for (int j = 0; j < c; j++) {
                        out[r * c + j] += w * a[off + t * c + j];
                    }
                }
            }
        }
        return out;
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    private static double rel(float[] got, double[] want) {
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < want.length; i++) {
            diff = Math.max(diff, Math.abs(got[i] - want[i]));
            scale = Math.max(scale, Math.abs(want[i]));
        }
        return diff / scale;
    }

    /**
     * Runs a layer, keeping a copy of its input and adding a zero leaf to its output, whose
     * gradient after backward is the layer's output gradient.
     */
    private static final class Recorder extends AbstractBlock {

        private final Block inner;
        float[] input;
        Shape inputShape;
        Shape outputShape;
        NDArray leaf;

        Recorder(Block inner) {
            this.inner = inner;
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore parameterStore,
                NDList inputs,
                boolean training,
                PairList<String, Object> params) {
            NDArray in = inputs.singletonOrThrow();
            input = in.toFloatArray();
            inputShape = in.getShape();
            NDArray y = inner.forward(parameterStore, inputs, training, params).singletonOrThrow();
            leaf = in.getManager().zeros(y.getShape(), y.getDataType(), y.getDevice());
            leaf.setRequiresGradient(true);
            outputShape = y.getShape();
            return new NDList(y.add(leaf));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return inner.getOutputShapes(inputShapes);
        }
    }
}
