package io.github.lbpdjl.zoo.vit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.wht.TokenLayout;
import io.github.lbpdjl.zoo.VitVariant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class TimmStructureTest {

    /** A Linear subclass that counts its forward calls. */
    static final class CountingLinear extends Linear {
        final AtomicInteger calls = new AtomicInteger();

        CountingLinear(long units) {
            super(Linear.builder().setUnits(units));
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            calls.incrementAndGet();
            return super.forwardInternal(ps, in, training, params);
        }
    }

    private static VisionTransformer micro() {
        return VitVariant.VIT_MICRO_PATCH4_32.build();
    }

    @Test
    void pathsFollowTimm() {
        VisionTransformer vit = micro();
        Map<String, Block> modules = vit.namedModules();
        for (String path :
                List.of(
                        "patch_embed",
                        "patch_embed.proj",
                        "blocks",
                        "blocks.0",
                        "blocks.0.norm1",
                        "blocks.0.attn",
                        "blocks.0.attn.qkv",
                        "blocks.0.attn.proj",
                        "blocks.0.norm2",
                        "blocks.0.mlp",
                        "blocks.0.mlp.fc1",
                        "blocks.0.mlp.fc2",
                        "blocks.3.mlp.fc2",
                        "norm",
                        "head")) {
            assertTrue(modules.containsKey(path), path);
        }
        assertEquals(2 + 1 + 4 * 9 + 2, modules.size(), modules.keySet().toString());
        assertTrue(modules.get("blocks.2.attn.qkv") instanceof Linear);
        assertTrue(modules.get("norm") instanceof LayerNorm);
        long linears = modules.values().stream().filter(b -> b instanceof Linear).count();
        assertEquals(4 * 4 + 1, linears);
    }

    @Test
    void parameterNamesFollowTimm() {
        VisionTransformer vit = micro();
        try (NDManager m = Engine.getEngine("PyTorch").newBaseManager()) {
            vit.initialize(m);
            Map<String, Parameter> p = vit.timmParameters();
            assertEquals(new Shape(1, 1, 64), p.get("cls_token").getArray().getShape());
            assertEquals(new Shape(1, 65, 64), p.get("pos_embed").getArray().getShape());
            assertEquals(
                    new Shape(64, 1, 4, 4), p.get("patch_embed.proj.weight").getArray().getShape());
            assertEquals(
                    new Shape(192, 64), p.get("blocks.0.attn.qkv.weight").getArray().getShape());
            assertEquals(new Shape(192), p.get("blocks.0.attn.qkv.bias").getArray().getShape());
            assertEquals(new Shape(64), p.get("blocks.1.norm2.weight").getArray().getShape());
            assertEquals(new Shape(64), p.get("norm.bias").getArray().getShape());
            assertEquals(
                    new Shape(128, 64), p.get("blocks.3.mlp.fc1.weight").getArray().getShape());
            assertEquals(new Shape(10, 64), p.get("head.weight").getArray().getShape());
            // 2 + patch (2) + 4 blocks x 12 + norm (2) + head (2)
            assertEquals(2 + 2 + 4 * 12 + 2 + 2, p.size());
        }
    }

    @Test
    void tokenLayoutAndShapes() {
        VisionTransformer vit = micro();
        assertEquals(TokenLayout.grid(1, 8, 8), TokenLayout.of(vit));
        VisionTransformer rect =
                VisionTransformer.builder()
                        .setImageSize(32, 48)
                        .setPatchSize(8)
                        .setEmbedDim(16)
                        .setDepth(1)
                        .setNumHeads(2)
                        .build();
        assertEquals(TokenLayout.grid(1, 4, 6), TokenLayout.of(rect));
        assertEquals(
                new Shape(5, 1000), rect.getOutputShapes(new Shape[] {new Shape(5, 3, 32, 48)})[0]);
    }

    @Test
    void replacedLinearIsUsedByForward() {
        VisionTransformer vit = micro();
        try (Model model = Model.newInstance("m", Device.cpu(), "PyTorch")) {
            model.setBlock(vit);
            vit.initialize(model.getNDManager());
            NDManager m = model.getNDManager();
            NDArray x = m.randomNormal(vit.getInputShape(2));
            ParameterStore ps = new ParameterStore(m, false);
            float[] before =
                    vit.forward(ps, new NDList(x), false).singletonOrThrow().toFloatArray();

            Block old = vit.getModule("blocks.1.attn.qkv");
            CountingLinear counting = new CountingLinear(192);
            counting.initialize(m, DataType.FLOAT32, new Shape(2, 65, 64));
            counting.getParameters()
                    .get("weight")
                    .getArray()
                    .set(old.getParameters().get("weight").getArray().toFloatArray());
            counting.getParameters()
                    .get("bias")
                    .getArray()
                    .set(old.getParameters().get("bias").getArray().toFloatArray());
            Block replaced = vit.replaceModule("blocks.1.attn.qkv", counting);
            assertSame(old, replaced);
            assertSame(counting, vit.getModule("blocks.1.attn.qkv"));
            Attention attn = (Attention) vit.getModule("blocks.1.attn");
            assertSame(counting, attn.getChild("qkv"));
            // the DJL key and order are kept
            assertEquals("01qkv", attn.getChildren().get(0).getKey());
            assertSame(counting, attn.getChildren().get(0).getValue());

            float[] after = vit.forward(ps, new NDList(x), false).singletonOrThrow().toFloatArray();
            assertEquals(1, counting.calls.get());
            assertArrayEquals(before, after, 1e-6f);

            // a differently initialised head changes the output
            Linear head = Linear.builder().setUnits(10).build();
            head.initialize(m, DataType.FLOAT32, new Shape(2, 64));
            vit.replaceChild("head", head);
            float[] other = vit.forward(ps, new NDList(x), false).singletonOrThrow().toFloatArray();
            assertNotEquals(before[0], other[0]);
        }
    }

    @Test
    void badPathsAndInputsAreClear() {
        VisionTransformer vit = micro();
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> vit.getModule("blocks.9.attn"));
        assertTrue(e.getMessage().contains("blocks.9.attn"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                ((Attention) vit.getModule("blocks.0.attn"))
                                        .replaceChild("q", Linear.builder().setUnits(1).build()));
        assertTrue(
                e.getMessage().contains("'q'") && e.getMessage().contains("qkv"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> vit.replaceModule("blocks.0.attn.qkv.weight", vit.getModule("head")));
        assertTrue(e.getMessage().contains("blocks.0.attn.qkv.weight"), e.getMessage());

        try (Model model = Model.newInstance("m", Device.cpu(), "PyTorch")) {
            model.setBlock(vit);
            vit.initialize(model.getNDManager());
            NDManager m = model.getNDManager();
            NDArray wrong = m.zeros(new Shape(1, 1, 28, 28));
            e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () ->
                                    vit.forward(
                                            new ParameterStore(m, false),
                                            new NDList(wrong),
                                            false));
            assertTrue(
                    e.getMessage().contains("(B, 1, 32, 32)")
                            && e.getMessage().contains("(1, 1, 28, 28)"),
                    e.getMessage());
        }
    }

    @Test
    void builderValidates() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class, () -> VisionTransformer.builder().build());
        assertTrue(e.getMessage().contains("setImageSize"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                VisionTransformer.builder()
                                        .setImageSize(30)
                                        .setPatchSize(4)
                                        .setEmbedDim(8)
                                        .setDepth(1)
                                        .setNumHeads(2)
                                        .build());
        assertTrue(e.getMessage().contains("not a multiple of the patch size 4"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                VisionTransformer.builder()
                                        .setImageSize(32)
                                        .setPatchSize(4)
                                        .setEmbedDim(10)
                                        .setDepth(1)
                                        .setNumHeads(3)
                                        .build());
        assertTrue(e.getMessage().contains("number of heads 3"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> VitVariant.VIT_MICRO_PATCH4_32.builder().optNumClasses(-1).build());
        assertTrue(e.getMessage().contains("optNumClasses"), e.getMessage());
    }
}
