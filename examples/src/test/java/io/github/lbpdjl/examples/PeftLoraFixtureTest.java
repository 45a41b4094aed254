package io.github.lbpdjl.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.peft.LoraConv2d;
import io.github.lbpdjl.peft.LoraLinear;
import io.github.lbpdjl.peft.LoraModel;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.zoo.VitModelLoader;
import io.github.lbpdjl.zoo.VitModelZoo;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A LoRA adapter in PEFT's format on timm's ViT, from fixtures made by timm's own code
 * (src/test/python/make_lora_fixtures.py): the base weights (timm's names) through the zoo's
 * Criteria, the adapter (use_rslora, rank_pattern, alpha_pattern, the target list qkv, fc1, proj
 * that also selects the Conv2d patch_embed.proj, the head as modules_to_save) put on with {@link
 * LoraModel#fromPretrained}, give timm's logits, unmerged and merged, on both engines.
 */
class PeftLoraFixtureTest {

    private static final double TOLERANCE = 2e-5;

    private static Path fixtures() throws Exception {
        return Path.of(
                PeftLoraFixtureTest.class.getResource("/io/github/lbpdjl/examples/lora").toURI());
    }

    private static float[] logits(ZooModel<NDList, NDList> m, NDArray x) {
        return m.getBlock()
                .forward(new ParameterStore(x.getManager(), false), new NDList(x), false)
                .singletonOrThrow()
                .toFloatArray();
    }

    /** max |got - want| / max |want|. */
    private static double relError(float[] got, float[] want) {
        assertEquals(want.length, got.length);
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < want.length; i++) {
            diff = Math.max(diff, Math.abs(got[i] - want[i]));
            scale = Math.max(scale, Math.abs(want[i]));
        }
        return diff / scale;
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void aPeftAdapterOnTimmsVitGivesTimmsLogits(String engine) throws Exception {
        Path dir = fixtures();
        Criteria<NDList, NDList> criteria =
                Criteria.builder()
                        .setTypes(NDList.class, NDList.class)
                        .optGroupId(VitModelZoo.GROUP_ID)
                        .optArtifactId("vit_micro_patch4_32")
                        .optEngine(engine)
                        .optArgument(VitModelLoader.ARG_NUM_CLASSES, 3)
                        .optArgument(VitModelLoader.ARG_IN_CHANNELS, 1)
                        .optArgument(
                                VitModelLoader.ARG_WEIGHTS,
                                dir.resolve("vit_micro_patch4_32-base.safetensors").toString())
                        .build();
        try (SafetensorsFile io = SafetensorsFile.open(dir.resolve("io.safetensors"));
                ZooModel<NDList, NDList> model = criteria.loadModel();
                NDManager m = NDManager.newBaseManager(engine)) {
            NDArray x = m.create(io.get("input").toFloatArray(), new Shape(2, 1, 32, 32));
            double base = relError(logits(model, x), io.get("base_logits").toFloatArray());

            LoraModel lora = LoraModel.fromPretrained(model, dir.resolve("adapter"));
            Map<String, LoraLinear> layers = lora.getLayers();
            // "proj" selects every attn.proj and, as in PEFT, the Conv2d patch_embed.proj
            assertEquals(12, layers.size(), layers.keySet().toString());
            LoraConv2d patch = lora.getConvLayers().get("patch_embed.proj");
            assertEquals(List.of("patch_embed.proj"), List.copyOf(lora.getConvLayers().keySet()));
            assertEquals(new Shape(2, 1, 4, 4), patch.getLoraA().getShape());
            assertEquals(new Shape(64, 2, 1, 1), patch.getLoraB().getShape());
            assertEquals(4, layers.get("blocks.2.mlp.fc1").getRank());
            assertEquals(3 / Math.sqrt(2), layers.get("blocks.3.attn.proj").getScaling(), 1e-6);
            assertEquals(5 / Math.sqrt(2), layers.get("blocks.1.attn.qkv").getScaling(), 1e-6);
            float[] want = io.get("logits").toFloatArray();
            double adapted = relError(logits(model, x), want);
            lora.merge();
            double merged = relError(logits(model, x), want);
            System.out.printf(
                    "%s: relative max error vs timm: base %.2g, LoRA adapter %.2g, merged %.2g%n",
                    engine, base, adapted, merged);
            assertTrue(base < TOLERANCE, "base: " + base);
            assertTrue(adapted < TOLERANCE, "adapter: " + adapted);
            assertTrue(merged < TOLERANCE, "merged: " + merged);
        }
    }
}
