package io.github.lbpdjl.zoo;

import static io.github.lbpdjl.zoo.ImageClassificationTest.assertClose;
import static io.github.lbpdjl.zoo.ImageClassificationTest.bytes;
import static io.github.lbpdjl.zoo.ImageClassificationTest.ints;
import static io.github.lbpdjl.zoo.ImageClassificationTest.manual;
import static io.github.lbpdjl.zoo.ImageClassificationTest.pixels;
import static io.github.lbpdjl.zoo.ImageClassificationTest.randomRgb;
import static io.github.lbpdjl.zoo.ImageClassificationTest.window;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.MalformedModelException;
import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.repository.zoo.ModelZoo;
import ai.djl.repository.zoo.ZooModel;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.github.lbpdjl.safetensors.DType;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.safetensors.SafetensorsWriter;
import io.github.lbpdjl.safetensors.Tensor;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Checkpoint folders as the Hugging Face Hub holds them, built from the timm fixtures: timm's hub
 * format ({@code config.json} with architecture, model_args, label_names and pretrained_cfg, beside
 * {@code model.safetensors} in F32, F16 or BF16) and transformers' ViT format (its names, {@code
 * config.json} with sizes and id2label, {@code preprocessor_config.json}). Each loads through one
 * {@code Criteria<Image, Classifications>} with {@code weights} = the folder, on both engines: the
 * architecture, the numbers (the fixture's timm logits), the class names and the preprocessing all
 * come from the folder; PNG and JPEG files give the same top classes as the NDList path with the
 * preprocessing computed here.
 */
class HubFolderTest {

    private static final float[] MEAN = {0.4f, 0.45f, 0.5f};
    private static final float[] STD = {0.2f, 0.25f, 0.3f};
    private static final double CROP = 0.875;

    @TempDir Path tmp;

    @ParameterizedTest
    @CsvSource({
        "PyTorch, vit_plain, F32",
        "MXNet, vit_plain, BF16",
        "MXNet, deit_distilled, F32",
        "PyTorch, vit_reg_ls, F16",
        "PyTorch, vit_avgpool, F32",
        "MXNet, vit_gap, F32",
        "MXNet, vit_pos48to32, F32"
    })
    void timmHubFolderClassifiesPngAndJpeg(String engine, String fixture, String dtype)
            throws Exception {
        VitFixture f = new VitFixture(fixture);
        Path dir = Files.createDirectories(tmp.resolve(fixture));
        writeWeights(f, dir.resolve("model.safetensors"), DType.fromName(dtype), false);
        List<String> labels = labels(f.numClasses());
        Files.writeString(dir.resolve("config.json"), timmConfig(f, labels));
        TimmModelLoader loader =
                (TimmModelLoader)
                        ModelZoo.getModelZoo(VitModelZoo.GROUP_ID)
                                .getModelLoader("vit_base_patch16_224");
        Preprocessing pre = loader.getPreprocessing(dir);
        assertEquals(f.checkpointImageSize, pre.getImageSize());
        assertEquals(CROP, pre.getCropPct(), 0);
        assertArrayEquals(MEAN, pre.getMean());
        assertArrayEquals(STD, pre.getStd());
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("weights", dir.toString());
        if (f.checkpointImageSize != f.imageSize()) {
            args.put("imageSize", f.imageSize()); // pos_embed resampled as timm
        }
        try (ZooModel<Image, Classifications> m =
                ImageClassificationTest.classifier("vit_base_patch16_224", engine, args)) {
            VisionTransformer vit = (VisionTransformer) m.getBlock();
            assertEquals(f.imageSize(), vit.getImageHeight());
            assertEquals(
                    f.builder().build().timmParameters().keySet(), vit.timmParameters().keySet());
            double tol = "F32".equals(dtype) ? VitTimmTest.TOL : 3e-2;
            double err = VitFixture.rel(f.eval(vit, m.getNDManager()), f.get("logits"));
            VitTimmTest.report(engine, fixture, "hub folder " + dtype + " logits vs timm", err);
            assertTrue(err <= tol, "logits error " + err);
            checkImages(m, f.imageSize(), CROP, Image.Interpolation.BICUBIC, MEAN, STD, labels);
        }
    }

    @ParameterizedTest
    @CsvSource({"PyTorch", "MXNet"})
    void transformersFolderClassifies(String engine) throws Exception {
        VitFixture f = new VitFixture("vit_plain");
        Path dir = Files.createDirectories(tmp.resolve("hf"));
        writeWeights(f, dir.resolve("model.safetensors"), DType.F32, true);
        List<String> labels = labels(f.numClasses());
        JsonObject c = new JsonObject();
        c.addProperty("model_type", "vit");
        c.add("architectures", array(List.of("ViTForImageClassification")));
        c.addProperty("hidden_size", f.config.get("embed_dim").getAsInt());
        c.addProperty("num_hidden_layers", f.config.get("depth").getAsInt());
        c.addProperty("num_attention_heads", f.config.get("num_heads").getAsInt());
        c.addProperty(
                "intermediate_size",
                (int)
                        (f.config.get("embed_dim").getAsInt()
                                * f.config.get("mlp_ratio").getAsDouble()));
        c.addProperty("hidden_act", "gelu");
        c.addProperty("image_size", f.imageSize());
        c.addProperty("patch_size", f.config.get("patch_size").getAsInt());
        c.addProperty("num_channels", 3);
        c.addProperty("layer_norm_eps", 1e-6); // timm's; transformers' default is 1e-12
        c.addProperty("qkv_bias", true);
        JsonObject id2label = new JsonObject();
        for (int i = labels.size() - 1; i >= 0; i--) {
            id2label.addProperty(Integer.toString(i), labels.get(i));
        }
        c.add("id2label", id2label);
        Files.writeString(dir.resolve("config.json"), c.toString());
        JsonObject pre = new JsonObject();
        pre.add("image_mean", floats(MEAN));
        pre.add("image_std", floats(STD));
        pre.addProperty("resample", 2);
        Files.writeString(dir.resolve("preprocessor_config.json"), pre.toString());
        try (ZooModel<Image, Classifications> m =
                ImageClassificationTest.classifier(
                        "vit_tiny_patch16_224", engine, Map.of("weights", dir.toString()))) {
            VisionTransformer vit = (VisionTransformer) m.getBlock();
            double err = VitFixture.rel(f.eval(vit, m.getNDManager()), f.get("logits"));
            VitTimmTest.report(engine, "vit_plain", "transformers folder logits vs timm", err);
            assertTrue(err <= VitTimmTest.TOL, "logits error " + err);
            checkImages(m, f.imageSize(), 1.0, Image.Interpolation.BILINEAR, MEAN, STD, labels);
        }
    }

    /**
     * A folder of DJL parameters (as a model saved here) with timm's config: its sizes, classes.
     */
    @Test
    void paramsFolderTakesItsConfig() throws Exception {
        VitFixture f = new VitFixture("deit_distilled");
        Path src = Files.createDirectories(tmp.resolve("src"));
        writeWeights(f, src.resolve("model.safetensors"), DType.F32, false);
        Path dir = Files.createDirectories(tmp.resolve("params"));
        List<String> labels = labels(f.numClasses());
        Files.writeString(src.resolve("config.json"), timmConfig(f, labels));
        Files.writeString(dir.resolve("config.json"), timmConfig(f, labels));
        try (ZooModel<?, ?> m =
                ZooTestSupport.load(
                        "vit_tiny_patch16_224", "MXNet", Map.of("weights", src.toString()))) {
            m.save(dir, "deit"); // deit-0000.params
        }
        try (ZooModel<Image, Classifications> m =
                ImageClassificationTest.classifier(
                        "vit_tiny_patch16_224", "PyTorch", Map.of("weights", dir.toString()))) {
            VisionTransformer vit = (VisionTransformer) m.getBlock();
            assertEquals(f.numClasses(), vit.getNumClasses());
            assertTrue(vit.isDistilled());
            double err = VitFixture.rel(f.eval(vit, m.getNDManager()), f.get("logits"));
            assertTrue(err <= VitTimmTest.TOL, "logits error " + err);
            checkImages(m, f.imageSize(), CROP, Image.Interpolation.BICUBIC, MEAN, STD, labels);
        }
    }

    @Test
    void headlessFolderGivesFeaturesOrANewHead() throws Exception {
        VitFixture f = new VitFixture("vit_headless");
        Path dir = Files.createDirectories(tmp.resolve("headless"));
        writeWeights(f, dir.resolve("model.safetensors"), DType.F32, false);
        Files.writeString(dir.resolve("config.json"), timmConfig(f, null));
        try (ZooModel<?, ?> m =
                ZooTestSupport.load(
                        "vit_small_patch16_224", "PyTorch", Map.of("weights", dir.toString()))) {
            VisionTransformer vit = (VisionTransformer) m.getBlock();
            assertEquals(0, vit.getNumClasses());
            double err = VitFixture.rel(f.eval(vit, m.getNDManager()), f.get("logits"));
            assertTrue(err <= VitTimmTest.TOL, "features error " + err);
        }
        try (ZooModel<Image, Classifications> m =
                ImageClassificationTest.classifier(
                        "vit_small_patch16_224",
                        "MXNet",
                        Map.of("weights", dir.toString(), "numClasses", 3))) {
            assertEquals(3, ((VisionTransformer) m.getBlock()).getNumClasses());
            try (Predictor<Image, Classifications> p = m.newPredictor()) {
                Classifications c =
                        p.predict(ImageFactory.getInstance().fromImage(randomRgb(40, 40, 5)));
                assertEquals(3, c.getClassNames().size());
            }
        }
    }

    @Test
    void badArgumentsAndConfigsAreMalformedModelExceptions() throws Exception {
        VitFixture f = new VitFixture("vit_plain");
        Path dir = Files.createDirectories(tmp.resolve("bad"));
        writeWeights(f, dir.resolve("model.safetensors"), DType.F32, false);
        Files.writeString(dir.resolve("config.json"), timmConfig(f, null));
        MalformedModelException e =
                assertThrows(
                        MalformedModelException.class,
                        () ->
                                ZooTestSupport.load(
                                                "vit_tiny_patch16_224",
                                                "PyTorch",
                                                Map.of(
                                                        "weights",
                                                        dir.toString(),
                                                        "globalPool",
                                                        "map"))
                                        .close());
        assertTrue(e.getMessage().contains("globalPool=map"), e.getMessage());
        e =
                assertThrows(
                        MalformedModelException.class,
                        () ->
                                ZooTestSupport.load(
                                                "vit_tiny_patch16_224",
                                                "MXNet",
                                                Map.of("numClasses", -1))
                                        .close());
        assertTrue(e.getMessage().contains("numClasses=-1"), e.getMessage());
        JsonObject c = new JsonObject();
        c.addProperty("architecture", "vit_base_patch16_qknorm_224");
        JsonObject a = new JsonObject();
        a.addProperty("qk_norm", true);
        c.add("model_args", a);
        Files.writeString(dir.resolve("config.json"), c.toString());
        e =
                assertThrows(
                        MalformedModelException.class,
                        () ->
                                ZooTestSupport.load(
                                                "vit_tiny_patch16_224",
                                                "PyTorch",
                                                Map.of("weights", dir.toString()))
                                        .close());
        assertTrue(e.getMessage().contains("model_args.qk_norm"), e.getMessage());
        Files.writeString(
                dir.resolve("config.json"),
                "{\"architecture\": \"vit_base_patch16_siglip_gap_224\"}");
        e =
                assertThrows(
                        MalformedModelException.class,
                        () ->
                                ZooTestSupport.load(
                                                "vit_tiny_patch16_224",
                                                "MXNet",
                                                Map.of("weights", dir.toString()))
                                        .close());
        assertTrue(e.getMessage().contains("'siglip' models"), e.getMessage());
        Files.writeString(dir.resolve("config.json"), "{\"architecture\": \"swin_tiny_patch4\"}");
        e =
                assertThrows(
                        MalformedModelException.class,
                        () ->
                                ZooTestSupport.load(
                                                "vit_tiny_patch16_224",
                                                "PyTorch",
                                                Map.of("weights", dir.toString()))
                                        .close());
        assertTrue(e.getMessage().contains("swin_tiny_patch4"), e.getMessage());
    }

    /** PNG and JPEG files: the translator's classes equal the NDList path's, top-5 in order. */
    private void checkImages(
            ZooModel<Image, Classifications> m,
            int size,
            double cropPct,
            Image.Interpolation interpolation,
            float[] mean,
            float[] std,
            List<String> labels)
            throws Exception {
        for (String format : new String[] {"png", "jpg"}) {
            Path file = tmp.resolve("image." + format);
            ImageIO.write(randomRgb(3 * size / 2, size + 7, 11), format, file.toFile());
            BufferedImage read = ImageIO.read(file.toFile());
            int w = read.getWidth();
            int h = read.getHeight();
            int shortSide = (int) Math.floor(size / cropPct);
            int outW = w <= h ? shortSide : (int) ((long) shortSide * w / h);
            int outH = w <= h ? (int) ((long) shortSide * h / w) : shortSide;
            int[] resized =
                    ints(
                            Resampling.resize(
                                    bytes(pixels(read, 3)), w, h, 3, outW, outH, interpolation));
            int top = (int) Math.rint((outH - size) / 2.0); // as timm: round half to even
            int left = (int) Math.rint((outW - size) / 2.0);
            double[] want =
                    manual(m, window(resized, outH, outW, 3, size, top, left), 3, mean, std);
            Classifications got;
            try (Predictor<Image, Classifications> p = m.newPredictor()) {
                got = p.predict(ImageFactory.getInstance().fromFile(file));
            }
            assertClose(want, got, format);
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < want.length; i++) {
                order.add(i);
            }
            order.sort((x, y) -> Double.compare(want[y], want[x]));
            List<String> top5 = new ArrayList<>();
            for (int i = 0; i < Math.min(5, want.length); i++) {
                top5.add(labels.get(order.get(i)));
            }
            List<String> gotTop5 = new ArrayList<>();
            for (Classifications.Classification c : got.topK(5)) {
                gotTop5.add(c.getClassName());
            }
            assertEquals(top5, gotTop5, format + " top-5");
        }
    }

    private static List<String> labels(int n) {
        List<String> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add("class " + (char) ('a' + i) + ", with a comma");
        }
        return l;
    }

    /** timm's hub config.json for a fixture. */
    private static String timmConfig(VitFixture f, List<String> labels) {
        boolean distilled = "VisionTransformerDistilled".equals(f.timmClass);
        int patch = f.config.get("patch_size").getAsInt();
        JsonObject root = new JsonObject();
        root.addProperty(
                "architecture",
                (distilled ? "deit_tiny_distilled_patch" : "vit_tiny_patch")
                        + patch
                        + "_"
                        + f.checkpointImageSize
                        + ".test");
        root.addProperty("num_classes", f.numClasses());
        root.addProperty("num_features", f.config.get("embed_dim").getAsInt());
        JsonObject args = new JsonObject();
        for (String k :
                new String[] {
                    "embed_dim",
                    "depth",
                    "num_heads",
                    "mlp_ratio",
                    "reg_tokens",
                    "no_embed_class",
                    "init_values",
                    "global_pool"
                }) {
            if (f.config.has(k)) {
                args.add(k, f.config.get(k));
            }
        }
        root.add("model_args", args);
        if (labels != null) {
            root.add("label_names", array(labels));
        }
        JsonObject cfg = new JsonObject();
        JsonArray input = new JsonArray();
        input.add(3);
        input.add(f.checkpointImageSize);
        input.add(f.checkpointImageSize);
        cfg.add("input_size", input);
        cfg.addProperty("interpolation", "bicubic");
        cfg.addProperty("crop_pct", CROP);
        cfg.addProperty("crop_mode", "center");
        cfg.add("mean", floats(MEAN));
        cfg.add("std", floats(STD));
        cfg.addProperty("num_classes", f.numClasses());
        root.add("pretrained_cfg", cfg);
        return root.toString();
    }

    private static final Pattern QKV =
            Pattern.compile("blocks\\.(\\d+)\\.attn\\.qkv\\.(weight|bias)");

    /** The fixture's checkpoint in a data type, with timm's or transformers' names. */
    private static void writeWeights(VitFixture f, Path file, DType dtype, boolean transformers)
            throws Exception {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : SafetensorsFile.readAll(f.weights).entrySet()) {
            float[] v = e.getValue().toFloatArray();
            long[] shape = e.getValue().getShape();
            if (!transformers) {
                out.put(e.getKey(), Tensor.fromFloats(v, shape, dtype));
                continue;
            }
            Matcher q = QKV.matcher(e.getKey());
            if (q.matches()) {
                String p = "vit.encoder.layer." + q.group(1) + ".attention.attention.";
                int third = v.length / 3;
                long[] s = shape.clone();
                s[0] /= 3;
                String[] parts = {"query", "key", "value"};
                for (int i = 0; i < 3; i++) {
                    float[] part = Arrays.copyOfRange(v, i * third, (i + 1) * third);
                    out.put(p + parts[i] + "." + q.group(2), Tensor.fromFloats(part, s, dtype));
                }
                continue;
            }
            out.put(hfName(e.getKey()), Tensor.fromFloats(v, shape, dtype));
        }
        SafetensorsWriter.write(file, out, Map.of("format", "pt"));
    }

    private static String hfName(String timm) {
        switch (timm) {
            case "cls_token":
                return "vit.embeddings.cls_token";
            case "pos_embed":
                return "vit.embeddings.position_embeddings";
            case "norm.weight":
                return "vit.layernorm.weight";
            case "norm.bias":
                return "vit.layernorm.bias";
            default:
                break;
        }
        if (timm.startsWith("patch_embed.proj.")) {
            return "vit.embeddings.patch_embeddings.projection." + timm.substring(17);
        }
        if (timm.startsWith("head.")) {
            return "classifier." + timm.substring(5);
        }
        Matcher m = Pattern.compile("blocks\\.(\\d+)\\.(.+)\\.(weight|bias)").matcher(timm);
        if (!m.matches()) {
            throw new IllegalArgumentException("no transformers name for " + timm);
        }
        String p = "vit.encoder.layer." + m.group(1) + ".";
        Map<String, String> parts =
                Map.of(
                        "norm1", "layernorm_before",
                        "norm2", "layernorm_after",
                        "attn.proj", "attention.output.dense",
                        "mlp.fc1", "intermediate.dense",
                        "mlp.fc2", "output.dense");
        return p + parts.get(m.group(2)) + "." + m.group(3);
    }

    private static JsonArray array(List<String> values) {
        JsonArray a = new JsonArray();
        values.forEach(a::add);
        return a;
    }

    private static JsonArray floats(float[] values) {
        JsonArray a = new JsonArray();
        for (float v : values) {
            a.add(v);
        }
        return a;
    }
}
