package io.github.lbpdjl.peft;

import static io.github.lbpdjl.peft.LoraModelTest.INPUT;
import static io.github.lbpdjl.peft.LoraModelTest.infer;
import static io.github.lbpdjl.peft.LoraModelTest.model;
import static io.github.lbpdjl.peft.LoraModelTest.randomize;
import static io.github.lbpdjl.peft.LoraModelTest.randomizeAdapters;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.rewrite.TargetModules;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * PEFT's semantics where they change the math: use_rslora, rank_pattern and alpha_pattern (keys
 * matched as PEFT's get_pattern_key), the adapter_config.json fields refused, and the one-call load
 * of a saved adapter (PeftModel.from_pretrained).
 */
class PeftSemanticsTest {

    /** Expected keys worked out with Python's re.match(rf"(.*\.)?({key})$", path). */
    @Test
    void patternKeysMatchAsPeftDoes() {
        Map<String, Integer> ranks = new LinkedHashMap<>();
        ranks.put("qkv", 4);
        ranks.put("^blocks\\.1\\.proj", 2);
        ranks.put("blocks\\.0\\..*", 6);
        LoraConfig c = LoraConfig.builder().optRank(8).optRankPattern(ranks).build();
        Map<String, Integer> expected = new LinkedHashMap<>();
        expected.put("blocks.0.qkv", 4);
        expected.put("blocks.1.qkv", 4);
        expected.put("blocks.0.xqkv", 6); // not qkv (no dot before it), but under blocks.0
        expected.put("blocks.1.proj", 2);
        expected.put("x.blocks.1.proj", 8); // ^ anchors at the start of the whole path
        expected.put("blocks.0.proj", 6);
        expected.put("mid.blocks.0.fc1", 6); // a suffix after a dot
        expected.put("blocks.1.fc1", 8);
        expected.put("blocks.0.proj.qkv", 4); // the first key in order wins
        expected.forEach((path, r) -> assertEquals(r, c.getRank(path), path));
        Map<String, Integer> first = new LinkedHashMap<>();
        first.put("proj", 3);
        first.put("blocks\\.1\\.proj", 5);
        assertEquals(
                3, LoraConfig.builder().optRankPattern(first).build().getRank("blocks.1.proj"));
        assertEquals(
                8,
                LoraConfig.builder()
                        .optRankPattern(Map.of("oj", 2))
                        .build()
                        .getRank("blocks.0.proj"));
    }

    @Test
    void scalingIsAlphaOverRankOrOverItsRoot() {
        LoraConfig plain = LoraConfig.builder().optRank(8).optAlpha(16).build();
        assertEquals(2f, plain.getScaling());
        LoraConfig rs =
                plain.toBuilder()
                        .optUseRslora(true)
                        .optRankPattern(Map.of("qkv", 4))
                        .optAlphaPattern(Map.of("blocks\\.0\\.qkv", 3f))
                        .build();
        assertEquals(16 / Math.sqrt(8), rs.getScaling(), 1e-6);
        assertEquals(16 / Math.sqrt(8), rs.getScaling("blocks.0.fc1"), 1e-6);
        assertEquals(16 / 2.0, rs.getScaling("blocks.1.qkv"), 1e-6); // r = 4
        assertEquals(3 / 2.0, rs.getScaling("blocks.0.qkv"), 1e-6); // r = 4, alpha = 3
        assertEquals(rs, LoraConfig.fromJson(rs.toJson()));
        String json = rs.toJson();
        assertTrue(json.contains("\"use_rslora\": true"), json);
        assertTrue(json.contains("\"qkv\": 4"), json);
    }

    /** The adapted layers take their rank and scaling, and compute x W^T + b + s x A^T B^T. */
    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void layersComputeTheirOwnScaling(String engine) {
        try (Model model = model(engine)) {
            LoraModel lm =
                    LoraConfig.builder()
                            .optRank(4)
                            .optAlpha(6)
                            .optUseRslora(true)
                            .optTargets(TargetModules.names("qkv", "fc1"))
                            .optRankPattern(Map.of("fc1", 2))
                            .optAlphaPattern(Map.of("blocks\\.1\\.qkv", 5f))
                            .build()
                            .apply(model);
            LoraLinear fc1 = lm.getLayers().get("blocks.0.fc1");
            LoraLinear qkv0 = lm.getLayers().get("blocks.0.qkv");
            LoraLinear qkv1 = lm.getLayers().get("blocks.1.qkv");
            assertEquals(new Shape(2, LoraModelTest.DIM), fc1.getLoraA().getShape());
            assertEquals(6 / Math.sqrt(2), fc1.getScaling(), 1e-6);
            assertEquals(6 / 2.0, qkv0.getScaling(), 1e-6);
            assertEquals(5 / 2.0, qkv1.getScaling(), 1e-6);
            randomizeAdapters(lm);
            checkForward(fc1, model.getNDManager(), 6 / Math.sqrt(2));
            checkForward(qkv1, model.getNDManager(), 2.5);
        }
    }

    /** y - (x W^T + b) against s (x A^T) B^T computed in double precision. */
    private static void checkForward(LoraLinear l, NDManager manager, double s) {
        try (NDManager sub = manager.newSubManager()) {
            Engine.getEngine(sub.getEngine().getEngineName()).setRandomSeed(5);
            long in = l.getLoraA().getShape().get(1);
            NDArray x = sub.randomNormal(new Shape(3, in));
            float[] y =
                    l.forward(new ParameterStore(sub, false), new NDList(x), false)
                            .singletonOrThrow()
                            .toFloatArray();
            float[] w = l.getParameters().get("weight").getArray().toFloatArray();
            float[] b = l.getParameters().get("bias").getArray().toFloatArray();
            float[] a = l.getLoraA().getArray().toFloatArray();
            float[] bb = l.getLoraB().getArray().toFloatArray();
            float[] xs = x.toFloatArray();
            int r = l.getRank();
            int out = (int) l.getUnits();
            for (int t = 0; t < 3; t++) {
                for (int o = 0; o < out; o++) {
                    double base = b[o];
                    for (int i = 0; i < in; i++) {
                        base += xs[t * (int) in + i] * (double) w[o * (int) in + i];
                    }
                    double delta = 0;
                    for (int k = 0; k < r; k++) {
                        double down = 0;
                        for (int i = 0; i < in; i++) {
                            down += xs[t * (int) in + i] * (double) a[k * (int) in + i];
                        }
                        delta += down * bb[o * r + k];
                    }
                    double want = base + s * delta;
                    assertEquals(want, y[t * out + o], 1e-4 * (1 + Math.abs(want)), l.toString());
                }
            }
        }
    }

    @Test
    void fieldsThatChangeTheMathAreRefused() {
        Map<String, String> refused = new LinkedHashMap<>();
        refused.put("use_dora", "true");
        refused.put("lora_bias", "true");
        refused.put("fan_in_fan_out", "true");
        refused.put("layers_to_transform", "[0, 1]");
        refused.put("layers_pattern", "\"blocks\"");
        refused.put("init_lora_weights", "\"pissa\"");
        refused.put("bias", "\"lora_only\"");
        refused.put("peft_type", "\"IA3\"");
        refused.put("trainable_token_indices", "[3]");
        refused.put("target_parameters", "[\"blocks.0.qkv.weight\"]");
        refused.put("layer_replication", "[[0, 2]]");
        refused.put("some_future_field", "7");
        refused.forEach(
                (field, value) -> {
                    String json = "{\"r\": 4, \"" + field + "\": " + value + "}";
                    IllegalArgumentException e =
                            assertThrows(
                                    IllegalArgumentException.class,
                                    () -> LoraConfig.fromJson(json),
                                    json);
                    String m = e.getMessage();
                    assertTrue(m.contains(field) && m.contains(value.replace(" ", "")), m);
                    assertFalse(m.contains("\n"), m);
                });
    }

    /** The fields PEFT 0.17 writes, with their defaults and run-time values, are read. */
    @Test
    void aPeftWrittenConfigIsRead() {
        String json =
                "{\"alora_invocation_tokens\": null, \"alpha_pattern\": {\"fc1\": 32},"
                        + " \"arrow_config\": null, \"auto_mapping\": null,"
                        + " \"base_model_name_or_path\": \"timm/vit_base_patch16_224\","
                        + " \"bias\": \"none\", \"corda_config\": null, \"eva_config\": null,"
                        + " \"exclude_modules\": null, \"fan_in_fan_out\": false,"
                        + " \"inference_mode\": true, \"init_lora_weights\": \"gaussian\","
                        + " \"layer_replication\": null, \"layers_pattern\": null,"
                        + " \"layers_to_transform\": null, \"loftq_config\": {},"
                        + " \"lora_alpha\": 16, \"lora_bias\": false, \"lora_dropout\": 0.1,"
                        + " \"megatron_config\": null, \"megatron_core\": \"megatron.core\","
                        + " \"modules_to_save\": [\"head\"], \"peft_type\": \"LORA\","
                        + " \"peft_version\": \"0.17.1\", \"qalora_group_size\": 16, \"r\": 8,"
                        + " \"rank_pattern\": {\"fc1\": 4}, \"revision\": null,"
                        + " \"target_modules\": [\"qkv\", \"fc1\"], \"target_parameters\": null,"
                        + " \"task_type\": null, \"trainable_token_indices\": null,"
                        + " \"use_dora\": false, \"use_qalora\": false, \"use_rslora\": true}";
        LoraConfig c = LoraConfig.fromJson(json);
        assertTrue(c.isUseRslora());
        assertEquals(4, c.getRank("blocks.0.mlp.fc1"));
        assertEquals(8, c.getRank("blocks.0.attn.qkv"));
        assertEquals(32 / 2.0, c.getScaling("blocks.0.mlp.fc1"), 1e-6);
        assertEquals(16 / Math.sqrt(8), c.getScaling("blocks.0.attn.qkv"), 1e-6);
        assertEquals(List.of("head"), c.getModulesToSave());
    }

    /**
     * all-linear is saved expanded to the layers it adapted, as PEFT saves it, so that PEFT (whose
     * all-linear keeps the output layer of a model that is not a transformers one) adapts the same.
     */
    @Test
    void allLinearIsSavedAsTheListOfLayersItAdapted(@TempDir Path dir) throws IOException {
        float[] adapted;
        try (Model model = model("PyTorch");
                NDManager m = NDManager.newBaseManager("PyTorch")) {
            LoraModel lm = LoraConfig.builder().optModulesToSave("head").build().apply(model);
            randomizeAdapters(lm);
            lm.saveAdapter(dir);
            Engine.getEngine("PyTorch").setRandomSeed(2);
            adapted = infer(model, m.randomNormal(INPUT));
        }
        LoraConfig saved =
                LoraConfig.fromJson(Files.readString(dir.resolve("adapter_config.json")));
        List<String> paths = new java.util.ArrayList<>();
        for (int b = 0; b < 2; b++) {
            for (String l : List.of("qkv", "proj", "fc1", "fc2")) {
                paths.add("blocks." + b + "." + l);
            }
        }
        assertEquals(paths, saved.getTargets().getPatterns());
        try (Model fresh = model("PyTorch");
                NDManager m = NDManager.newBaseManager("PyTorch")) {
            LoraModel back = LoraModel.fromPretrained(fresh, dir);
            assertEquals(paths, List.copyOf(back.getLayers().keySet()));
            Engine.getEngine("PyTorch").setRandomSeed(2);
            assertArrayEquals(adapted, infer(fresh, m.randomNormal(INPUT)));
        }
    }

    /** PEFT's _set_trainable takes every module whose path ends with a name, dot or not. */
    @Test
    void modulesToSaveAreMatchedByPlainSuffix() {
        try (Model model = model("PyTorch")) {
            LoraModel lm =
                    LoraConfig.builder()
                            .optTargets(TargetModules.names("qkv"))
                            .optModulesToSave("orm2", "head")
                            .build()
                            .apply(model);
            assertEquals(
                    List.of("blocks.0.norm2", "blocks.1.norm2", "head"),
                    List.copyOf(lm.getModulesToSave().keySet()));
        }
    }

    @Test
    void badPatternsAreNamed() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> LoraConfig.builder().optRankPattern(Map.of("qkv", 0)).build());
        assertTrue(e.getMessage().contains("rank_pattern 'qkv'"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> LoraConfig.builder().optAlphaPattern(Map.of("(qkv", 2f)).build());
        assertTrue(e.getMessage().contains("alpha_pattern key '(qkv'"), e.getMessage());
    }

    /**
     * save -> fromPretrained onto a fresh base model gives identical outputs; a folder that does
     * not fit leaves the model without LoRA layers.
     */
    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void fromPretrainedReproducesTheSavedAdapter(String engine, @TempDir Path dir)
            throws IOException {
        LoraConfig config =
                LoraModelTest.qkvProj().toBuilder()
                        .optUseRslora(true)
                        .optRankPattern(Map.of("blocks\\.1\\.qkv", 3))
                        .optAlphaPattern(Map.of("proj", 7f))
                        .build();
        float[] adapted;
        float[] merged;
        try (Model model = model(engine);
                NDManager m = NDManager.newBaseManager(engine)) {
            Engine.getEngine(engine).setRandomSeed(11);
            NDArray x = m.randomNormal(INPUT);
            LoraModel lm = config.apply(model);
            randomizeAdapters(lm);
            randomize(lm.getModulesToSave().get("head").getParameters().get("weight"), 7);
            lm.saveAdapter(dir);
            adapted = infer(model, x);
            lm.merge();
            merged = infer(model, x);
        }
        try (Model fresh = model(engine);
                NDManager m = NDManager.newBaseManager(engine)) {
            Engine.getEngine(engine).setRandomSeed(11);
            NDArray x = m.randomNormal(INPUT);
            LoraModel lm = LoraModel.fromPretrained(fresh, dir);
            assertEquals(config, lm.getConfig());
            assertEquals(3, lm.getLayers().get("blocks.1.qkv").getRank());
            assertArrayEquals(adapted, infer(fresh, x));
            float[] again = infer(fresh, x);
            for (int i = 0; i < merged.length; i++) {
                assertEquals(merged[i], again[i], 1e-4 * (1 + Math.abs(merged[i])));
            }
        }
        Files.writeString(
                dir.resolve(LoraModel.CONFIG_FILE),
                config.toBuilder().optRankPattern(Map.of()).build().toJson());
        try (Model other = model(engine)) {
            IllegalArgumentException e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> LoraModel.fromPretrained(other, dir));
            assertTrue(e.getMessage().contains("blocks.1.qkv.lora_A.weight"), e.getMessage());
            assertTrue(BlockTree.find(other.getBlock(), LoraLinear.class).isEmpty());
        }
        IOException none =
                assertThrows(
                        IOException.class,
                        () -> {
                            try (Model m = Model.newInstance("x", engine)) {
                                m.setBlock(new TinyVit(1, 8, 3));
                                m.getBlock().initialize(m.getNDManager(), DataType.FLOAT32, INPUT);
                                LoraModel.fromPretrained(m, dir.resolve("missing"));
                            }
                        });
        assertTrue(none.getMessage().contains("adapter_config.json"), none.getMessage());
    }
}
