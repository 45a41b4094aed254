package io.github.lbpdjl.peft;

import static io.github.lbpdjl.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.safetensors.DType;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.safetensors.SafetensorsWriter;
import io.github.lbpdjl.safetensors.Tensor;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LoraModelTest {

    static final int DIM = 8;
    static final Shape INPUT = new Shape(2, 17, DIM); // class token + 4x4

    static Model model(String engine) {
        Engine.getEngine(engine).setRandomSeed(3);
        Model model = Model.newInstance("tiny", engine);
        model.setBlock(new TinyVit(2, DIM, 3));
        model.getBlock().initialize(model.getNDManager(), DataType.FLOAT32, INPUT);
        return model;
    }

    static LoraConfig qkvProj() {
        return LoraConfig.builder()
                .optRank(2)
                .optAlpha(4)
                .optTargets(TargetModules.names("qkv", "proj"))
                .optModulesToSave("head")
                .build();
    }

    static void randomize(Parameter p, long seed) {
        Random r = new Random(seed);
        float[] v = new float[(int) p.getArray().size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        p.getArray().set(v);
    }

    static void randomizeAdapters(LoraModel lm) {
        long seed = 100;
        for (LoraLinear l : lm.getLayers().values()) {
            randomize(l.getLoraA(), seed++);
            randomize(l.getLoraB(), seed++);
        }
    }

    static float[] infer(Model model, NDArray x) {
        return model.getBlock()
                .forward(new ParameterStore(model.getNDManager(), false), new NDList(x), false)
                .singletonOrThrow()
                .toFloatArray();
    }

    static double[][] d(float[] f) {
        double[][] o = new double[1][f.length];
        for (int i = 0; i < f.length; i++) {
            o[0][i] = f[i];
        }
        return o;
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void appliesFreezesAndSummarises(String engine) {
        try (Model model = model(engine)) {
            Map<String, Linear> before = BlockTree.find(model.getBlock(), Linear.class);
            Parameter qkvWeight = before.get("blocks.0.qkv").getParameters().get("weight");
            LoraModel lm = qkvProj().apply(model);
            assertEquals(
                    List.of("blocks.0.qkv", "blocks.0.proj", "blocks.1.qkv", "blocks.1.proj"),
                    List.copyOf(lm.getLayers().keySet()));
            LoraLinear qkv = lm.getLayers().get("blocks.0.qkv");
            assertSame(qkvWeight, qkv.getParameters().get("weight"), "base Parameter shared");
            TinyVit vit = (TinyVit) model.getBlock();
            assertSame(
                    qkv,
                    ((TinyVit.Encoder) vit.blocks.getChildren().get(0).getValue()).qkv,
                    "field updated");
            assertEquals(new Shape(2, DIM), qkv.getLoraA().getShape());
            assertEquals(new Shape(3 * DIM, 2), qkv.getLoraB().getShape());
            assertEquals(0, qkv.getLoraB().getArray().abs().sum().getFloat(), "B starts at zero");
            assertFalse(qkvWeight.requiresGradient());
            assertTrue(qkv.getLoraA().requiresGradient());
            assertTrue(vit.head.getParameters().get("weight").requiresGradient());
            assertFalse(
                    ((TinyVit.Encoder) vit.blocks.getChildren().get(0).getValue())
                            .norm1
                            .getParameters()
                            .get("gamma")
                            .requiresGradient());
            long lora = 2 * (2L * DIM + 3L * DIM * 2) + 2 * (2L * DIM + DIM * 2L);
            long head = 3L * DIM + 3;
            long perBlock =
                    4L * DIM
                            + (3L * DIM * DIM + 3 * DIM)
                            + (DIM * DIM + DIM)
                            + (2L * DIM * DIM + 2 * DIM)
                            + (2L * DIM * DIM + DIM);
            long all = 2 * perBlock + head + lora;
            assertEquals(
                    String.format(
                            java.util.Locale.ROOT,
                            "trainable params: %,d || all params: %,d || trainable%%: %.4f",
                            lora + head,
                            all,
                            100.0 * (lora + head) / all),
                    lm.trainableParametersSummary());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void mergedInferenceEqualsUnmerged(String engine) {
        try (Model model = model(engine)) {
            NDArray x = model.getNDManager().randomNormal(INPUT);
            float[] base = infer(model, x);
            LoraModel lm = qkvProj().apply(model);
            assertClose(d(infer(model, x)), d(base), 1e-6, "B = 0: model unchanged");
            randomizeAdapters(lm);
            float[] unmerged = infer(model, x);
            assertTrue(Math.abs(unmerged[0] - base[0]) > 1e-4, "adapter changes the output");
            lm.merge();
            assertClose(d(infer(model, x)), d(unmerged), 2e-5, "merged");
            lm.unmerge();
            assertClose(d(infer(model, x)), d(unmerged), 2e-5, "unmerged again");
            lm.unload(true);
            assertTrue(BlockTree.find(model.getBlock(), LoraLinear.class).isEmpty());
            assertClose(d(infer(model, x)), d(unmerged), 2e-5, "merge_and_unload");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void savesAndLoadsOnlyTheAdapter(String engine, @TempDir Path dir) throws IOException {
        try (Model model = model(engine)) {
            NDArray x = model.getNDManager().randomNormal(INPUT);
            LoraModel lm = qkvProj().apply(model);
            randomizeAdapters(lm);
            randomize(((TinyVit) model.getBlock()).head.getParameters().get("weight"), 7);
            float[] trained = infer(model, x);
            lm.saveAdapter(dir);
            Map<String, Tensor> saved =
                    SafetensorsFile.readAll(dir.resolve(LoraModel.WEIGHTS_FILE));
            assertEquals(
                    List.of(
                            "base_model.model.blocks.0.proj.lora_A.weight",
                                    "base_model.model.blocks.0.proj.lora_B.weight",
                            "base_model.model.blocks.0.qkv.lora_A.weight",
                                    "base_model.model.blocks.0.qkv.lora_B.weight",
                            "base_model.model.blocks.1.proj.lora_A.weight",
                                    "base_model.model.blocks.1.proj.lora_B.weight",
                            "base_model.model.blocks.1.qkv.lora_A.weight",
                                    "base_model.model.blocks.1.qkv.lora_B.weight",
                            "base_model.model.head.bias", "base_model.model.head.weight"),
                    List.copyOf(saved.keySet()));
            String json = Files.readString(dir.resolve(LoraModel.CONFIG_FILE));
            assertTrue(
                    json.contains("\"peft_type\": \"LORA\"")
                            && json.contains("\"r\": 2")
                            && json.contains("\"bias\": \"none\""),
                    json);
            assertEquals(qkvProj(), LoraConfig.fromJson(json));
            try (java.util.stream.Stream<Path> files = Files.list(dir)) {
                assertEquals(2, files.count(), "no temporary files left");
            }
            // a fresh copy of the base model takes the adapter and computes the same
            try (Model fresh = model(engine)) {
                LoraModel lm2 = LoraConfig.fromJson(json).apply(fresh);
                lm2.loadAdapter(dir);
                assertClose(d(infer(fresh, x.duplicate())), d(trained), 1e-5, "reloaded adapter");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void namedAdaptersSwitch(String engine, @TempDir Path dir) throws IOException {
        try (Model model = model(engine)) {
            NDArray x = model.getNDManager().randomNormal(INPUT);
            LoraModel lm = qkvProj().apply(model);
            float[] base = infer(model, x);
            randomizeAdapters(lm);
            float[] first = infer(model, x);
            lm.saveAdapter(dir);
            lm.addAdapter("second");
            assertEquals("second", lm.getActiveAdapter());
            assertClose(d(infer(model, x)), d(base), 1e-6, "a new adapter starts at B = 0");
            randomize(lm.getLayers().get("blocks.1.qkv").getLoraB(), 99);
            float[] second = infer(model, x);
            assertTrue(Math.abs(second[0] - first[0]) > 1e-4);
            lm.setActiveAdapter("default");
            assertClose(d(infer(model, x)), d(first), 1e-6, "default again");
            lm.setActiveAdapter("second");
            assertClose(d(infer(model, x)), d(second), 1e-6, "second again");
            lm.loadAdapter(dir, "third");
            assertEquals(java.util.Set.of("default", "second", "third"), lm.getAdapterNames());
            lm.setActiveAdapter("third");
            assertClose(d(infer(model, x)), d(first), 1e-6, "third = saved default");
            assertThrows(IllegalArgumentException.class, () -> lm.setActiveAdapter("fourth"));
            assertThrows(IllegalArgumentException.class, () -> lm.addAdapter("second"));
        }
    }

    @Test
    void badAdaptersAreNamed(@TempDir Path dir) throws IOException {
        try (Model model = model("PyTorch")) {
            LoraModel lm = qkvProj().apply(model);
            lm.saveAdapter(dir);
            Path f = dir.resolve(LoraModel.WEIGHTS_FILE);
            Map<String, Tensor> good = SafetensorsFile.readAll(f);
            String key = "base_model.model.blocks.0.qkv.lora_B.weight";

            Map<String, Tensor> wrong = new LinkedHashMap<>(good);
            wrong.put(
                    key,
                    Tensor.fromFloats(new float[3 * DIM * 4], new long[] {3 * DIM, 4}, DType.F32));
            SafetensorsWriter.write(f, wrong, null);
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> lm.loadAdapter(dir));
            assertTrue(
                    e.getMessage().contains(key + " has shape [24, 4], needs [24, 2]"),
                    e.getMessage());

            Map<String, Tensor> missing = new LinkedHashMap<>(good);
            missing.remove(key);
            missing.put(
                    "base_model.model.blocks.9.qkv.lora_A.weight",
                    Tensor.fromFloats(new float[1], new long[] {1}, DType.F32));
            SafetensorsWriter.write(f, missing, null);
            e = assertThrows(IllegalArgumentException.class, () -> lm.loadAdapter(dir));
            assertTrue(
                    e.getMessage().contains("missing " + key)
                            && e.getMessage().contains("unexpected base_model.model.blocks.9"),
                    e.getMessage());
        }
    }

    @Test
    void malformedAdapterFilesAreIoErrorsNamingTheFile(@TempDir Path dir) throws IOException {
        try (Model model = model("PyTorch")) {
            LoraModel lm = qkvProj().apply(model);
            lm.saveAdapter(dir);
            Path weights = dir.resolve(LoraModel.WEIGHTS_FILE);
            byte[] good = Files.readAllBytes(weights);
            Files.write(weights, java.util.Arrays.copyOf(good, good.length - 3));
            IOException e = assertThrows(IOException.class, () -> lm.loadAdapter(dir));
            assertTrue(
                    e.getMessage().contains(weights.toString())
                            && e.getMessage().contains("truncated"),
                    e.getMessage());
            Files.write(weights, good);
            Path cfg = dir.resolve(LoraModel.CONFIG_FILE);
            Files.writeString(cfg, "{\"r\": \"two\"}");
            e = assertThrows(IOException.class, () -> lm.loadAdapter(dir));
            assertTrue(e.getMessage().contains(cfg.toString()), e.getMessage());
            try (java.io.RandomAccessFile huge = new java.io.RandomAccessFile(cfg.toFile(), "rw")) {
                huge.setLength(1L << 40); // sparse: a terabyte the reader must not load
            }
            e = assertThrows(IOException.class, () -> lm.loadAdapter(dir));
            assertTrue(
                    e.getMessage().contains(cfg.toString())
                            && e.getMessage().contains("larger than"),
                    e.getMessage());
        }
    }

    @Test
    void halfPrecisionAdaptersLoad(@TempDir Path dir) throws IOException {
        try (Model model = model("PyTorch")) {
            LoraModel lm = qkvProj().apply(model);
            randomizeAdapters(lm);
            lm.saveAdapter(dir);
            Path f = dir.resolve(LoraModel.WEIGHTS_FILE);
            Map<String, Tensor> bf16 = new LinkedHashMap<>();
            SafetensorsFile.readAll(f)
                    .forEach(
                            (k, t) ->
                                    bf16.put(
                                            k,
                                            Tensor.fromFloats(
                                                    t.toFloatArray(), t.getShape(), DType.BF16)));
            SafetensorsWriter.write(f, bf16, null);
            String key = "base_model.model.blocks.0.qkv.lora_B.weight";
            float[] want = bf16.get(key).toFloatArray();
            lm.addAdapter("other");
            lm.loadAdapter(dir);
            assertEquals(
                    java.util.Arrays.toString(want),
                    java.util.Arrays.toString(
                            lm.getLayers()
                                    .get("blocks.0.qkv")
                                    .getLoraB()
                                    .getArray()
                                    .toFloatArray()));
        }
    }

    @Test
    void unmatchedPatternsAndBadConfigAreErrors() {
        try (Model model = model("PyTorch")) {
            LoraConfig c =
                    LoraConfig.builder().optTargets(TargetModules.names("qkv", "query")).build();
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> c.apply(model));
            assertTrue(
                    e.getMessage().contains("[query]") && e.getMessage().contains("blocks.0.fc1"),
                    e.getMessage());
            assertTrue(
                    BlockTree.find(model.getBlock(), LoraLinear.class).isEmpty(),
                    "nothing changed");
            LoraConfig m = LoraConfig.builder().optModulesToSave("classifier").build();
            e = assertThrows(IllegalArgumentException.class, () -> m.apply(model));
            assertTrue(e.getMessage().contains("classifier"), e.getMessage());
            LoraModel lm = c.toBuilder().optAllowUnmatched(true).build().apply(model);
            assertEquals(2, lm.getLayers().size());
        }
        assertThrows(IllegalArgumentException.class, () -> LoraConfig.builder().optRank(0).build());
        assertThrows(
                IllegalArgumentException.class, () -> LoraConfig.builder().optAlpha(-1).build());
        assertThrows(
                IllegalArgumentException.class,
                () -> LoraConfig.builder().optDropout(-0.1f).build());
        assertThrows(
                IllegalArgumentException.class,
                () -> LoraConfig.fromJson("{\"peft_type\":\"IA3\"}"));
    }

    @Test
    void configJsonRoundTrips() {
        LoraConfig c =
                LoraConfig.builder()
                        .optRank(16)
                        .optAlpha(32)
                        .optDropout(0.1f)
                        .optTargets(TargetModules.regex("blocks\\.1\\..*"))
                        .optExclude(TargetModules.names("fc2"))
                        .optModulesToSave("head", "norm")
                        .optLbp(
                                LbpConfig.builder()
                                        .optSelection(BasisSelection.lowPassL1(4))
                                        .optLayout(TokenLayout.grid(1, 14, 14))
                                        .build())
                        .build();
        assertEquals(c, LoraConfig.fromJson(c.toJson()));
        // globs are written as the regex string PEFT reads, matching the same paths
        LoraConfig g = LoraConfig.builder().optTargets(TargetModules.globs("blocks.*.qkv")).build();
        TargetModules back = LoraConfig.fromJson(g.toJson()).getTargets();
        assertEquals(List.of("(blocks\\.[^.]*\\.qkv)"), back.getPatterns());
        assertTrue(back.matches("blocks.3.qkv"));
        assertFalse(back.matches("blocks.3.attn.qkv"));
        assertEquals(
                LoraConfig.builder().build(),
                LoraConfig.fromJson(LoraConfig.builder().build().toJson()));
        // PEFT's own file shape
        LoraConfig peft =
                LoraConfig.fromJson(
                        "{\"peft_type\":\"LORA\",\"r\":8,\"lora_alpha\":16,\"lora_dropout\":0.05,"
                                + "\"target_modules\":[\"query\",\"value\"],"
                                + "\"modules_to_save\":[\"classifier\"],\"bias\":\"none\"}");
        assertEquals(List.of("query", "value"), peft.getTargets().getPatterns());
        assertEquals(2f, peft.getScaling());
    }

    /** LoRA on qkv and proj with LBP-WHT inside, LBP-WHT on the other linear layers; trains. */
    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void oneConfigLoraAndLbpEverywhereElse(String engine) {
        try (Model model = model(engine)) {
            LbpConfig lp =
                    LbpConfig.builder()
                            .optSelection(BasisSelection.lowPassL1(2))
                            .optLayout(TokenLayout.grid(1, 4, 4))
                            .build();
            LoraConfig c = qkvProj().toBuilder().optLbp(lp).build();
            LoraModel lm = c.apply(model);
            LbpRewriter others =
                    LbpRewriter.builder()
                            .optConfig(
                                    lp.toBuilder()
                                            .optSelection(BasisSelection.lowPassL1(4))
                                            .build())
                            .build();
            List<String> replaced = others.apply(model).getReplaced();
            Map<String, Block> modules = BlockTree.modules(model.getBlock());
            assertInstanceOf(LoraLinear.class, modules.get("blocks.1.qkv"));
            assertEquals(lp, ((LoraLinear) modules.get("blocks.1.qkv")).getConfig());
            assertInstanceOf(LbpLinear.class, modules.get("blocks.1.fc1"));
            assertEquals(Linear.class, modules.get("head").getClass());
            assertEquals(
                    List.of("blocks.0.fc1", "blocks.0.fc2", "blocks.1.fc1", "blocks.1.fc2"),
                    replaced);
            randomizeAdapters(lm);
            NDManager m = model.getNDManager();
            try (NDManager sub = m.newSubManager()) {
                NDArray x = sub.randomNormal(INPUT);
                try (GradientCollector gc = Engine.getEngine(engine).newGradientCollector()) {
                    NDArray y =
                            model.getBlock()
                                    .forward(new ParameterStore(sub, false), new NDList(x), true)
                                    .singletonOrThrow();
                    gc.backward(y.square().sum());
                }
                LoraLinear qkv = (LoraLinear) modules.get("blocks.0.qkv");
                assertTrue(qkv.getLoraA().getArray().getGradient().abs().sum().getFloat() > 0);
                assertTrue(qkv.getLoraB().getArray().getGradient().abs().sum().getFloat() > 0);
            }
        }
    }

    static Map<String, float[]> snapshot(Block b) {
        return b.getParameters().stream()
                .collect(
                        Collectors.toMap(
                                p -> p.getKey(),
                                p -> p.getValue().getArray().toFloatArray(),
                                (a, c) -> a,
                                LinkedHashMap::new));
    }

    /**
     * The listener's model preparer applies LoRA after newTrainer; training moves only adapters and
     * head.
     */
    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void listenerAppliesLoraWithLbp(String engine) throws Exception {
        try (Model model = model(engine)) {
            LbpConfig lp =
                    LbpConfig.builder()
                            .optSelection(BasisSelection.lowPassL1(2))
                            .optLayout(TokenLayout.grid(1, 4, 4))
                            .build();
            LoraConfig c = qkvProj().toBuilder().optLbp(lp).build();
            LbpRewriter others = LbpRewriter.builder().optConfig(lp).build();
            io.github.lbpdjl.training.LbpTrainingListener listener =
                    io.github.lbpdjl.training.LbpTrainingListener.builder()
                            .optModelPreparer(
                                    m -> {
                                        c.apply(m);
                                        others.apply(m);
                                    })
                            .build();
            ai.djl.training.DefaultTrainingConfig cfg =
                    new ai.djl.training.DefaultTrainingConfig(
                                    ai.djl.training.loss.Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(
                                    ai.djl.training.optimizer.Optimizer.adam()
                                            .optLearningRateTracker(
                                                    ai.djl.training.tracker.Tracker.fixed(0.01f))
                                            .build())
                            .addTrainingListeners(listener);
            try (ai.djl.training.Trainer trainer = model.newTrainer(cfg)) {
                trainer.initialize(INPUT);
                assertEquals(
                        4, listener.getLayers().size(), "LbpLinear fc1/fc2 found by the listener");
                Map<String, float[]> before = snapshot(model.getBlock());
                NDManager m = model.getNDManager();
                for (int i = 0; i < 3; i++) {
                    try (NDManager sub = m.newSubManager()) {
                        NDArray x = sub.randomNormal(INPUT);
                        NDArray label = sub.create(new float[] {0, 2});
                        ai.djl.training.dataset.Batch batch =
                                new ai.djl.training.dataset.Batch(
                                        sub, new NDList(x), new NDList(label), 2, null, null, 0, 1);
                        ai.djl.training.EasyTrain.trainBatch(trainer, batch);
                        trainer.step();
                    }
                }
                Map<String, float[]> after = snapshot(model.getBlock());
                for (Map.Entry<String, float[]> e : before.entrySet()) {
                    boolean changed = !java.util.Arrays.equals(e.getValue(), after.get(e.getKey()));
                    boolean trainable =
                            e.getKey().contains("lora_") || e.getKey().startsWith("02head");
                    assertEquals(
                            trainable,
                            changed,
                            e.getKey() + (trainable ? " should train" : " should stay frozen"));
                }
            }
        }
    }
}
