package io.github.lbpdjl.examples.adapt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import ai.djl.training.dataset.RandomAccessDataset;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.peft.LoraConfig;
import io.github.lbpdjl.peft.LoraLinear;
import io.github.lbpdjl.peft.LoraModel;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.zoo.Preprocessing;
import io.github.lbpdjl.zoo.VitModelLoader;
import io.github.lbpdjl.zoo.VitModelZoo;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The folder {@link SavedModel} writes, after a LoRA adaptation or a full fine-tuning (weights
 * moved at random stand for the training): model.safetensors through the zoo's Criteria, PEFT's
 * adapter put back onto a fresh base model with {@code LoraModel.fromPretrained}, {@code Image ->
 * Classifications} through {@link Predict}'s Criteria and the predict program all give the adapted
 * model's predictions, on both engines; config.json is timm's hub format; a failed save leaves the
 * earlier folder.
 */
class SavedModelTest {

    private static final String ARCH = "vit_micro_patch4_32";
    private static final List<String> NAMES = List.of("cat", "dog", "owl");
    private static final int IMAGES = 4;
    private static final float MEAN = 0.5f;
    private static final float STD = 0.25f;

    /**
     * Three classes of 32x32 grey images, prepared by crop 1.0 at 32 pixels: the identity on the
     * test's 32-pixel images, then (x - 0.5) / 0.25.
     */
    private static Splits splits() {
        Preprocessing p =
                Preprocessing.builder()
                        .setImageSize(32)
                        .optCropPct(1.0)
                        .optMean(new float[] {MEAN})
                        .optStd(new float[] {STD})
                        .build();
        return new Splits() {
            @Override
            public List<String> classNames() {
                return NAMES;
            }

            @Override
            public int channels() {
                return 1;
            }

            @Override
            public Preprocessing preprocessing() {
                return p;
            }

            @Override
            public long trainCount() {
                return 0;
            }

            @Override
            public long testCount() {
                return 0;
            }

            @Override
            public RandomAccessDataset train(NDManager manager, int batch) {
                throw new UnsupportedOperationException();
            }

            @Override
            public RandomAccessDataset test(NDManager manager, int batch) {
                throw new UnsupportedOperationException();
            }
        };
    }

    private static Criteria<NDList, NDList> criteria(String engine, Path weights) {
        Criteria.Builder<NDList, NDList> b =
                Criteria.builder()
                        .setTypes(NDList.class, NDList.class)
                        .optGroupId(VitModelZoo.GROUP_ID)
                        .optArtifactId(ARCH)
                        .optEngine(engine)
                        .optArgument(VitModelLoader.ARG_NUM_CLASSES, NAMES.size())
                        .optArgument(VitModelLoader.ARG_IN_CHANNELS, 1)
                        .optArgument(VitModelLoader.ARG_SEED, 5);
        if (weights != null) {
            b.optArgument(VitModelLoader.ARG_WEIGHTS, weights.toString());
        }
        return b.build();
    }

    private static float[] logits(Model model, NDArray x) {
        return model.getBlock()
                .forward(new ParameterStore(x.getManager(), false), new NDList(x), false)
                .singletonOrThrow()
                .toFloatArray();
    }

    private static void randomize(Parameter p, Random r, double scale) {
        float[] v = new float[(int) p.getArray().size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (scale * r.nextGaussian());
        }
        p.getArray().set(v);
    }

    private static double maxDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    /** Grey PNGs (stored as RGB with equal channels) and their values, (x - mean) / std. */
    private static float[] writeImages(Path dir, List<Path> files) throws IOException {
        Files.createDirectories(dir);
        Random r = new Random(3);
        float[] x = new float[IMAGES * 32 * 32];
        for (int n = 0; n < IMAGES; n++) {
            BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
            for (int i = 0; i < 32; i++) {
                for (int j = 0; j < 32; j++) {
                    int v = r.nextInt(256);
                    img.setRGB(j, i, (v << 16) | (v << 8) | v);
                    x[(n * 32 + i) * 32 + j] = (v / 255f - MEAN) / STD;
                }
            }
            Path f = dir.resolve("img" + n + ".png");
            ImageIO.write(img, "png", f.toFile());
            files.add(f);
        }
        return x;
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void aLoraAdaptedModelReloadsEveryWay(String engine, @TempDir Path tmp) throws Exception {
        List<Path> pngs = new ArrayList<>();
        float[] pixels = writeImages(tmp.resolve("images"), pngs);
        Path dir = tmp.resolve("models").resolve("lora-2");
        try (NDManager m = NDManager.newBaseManager(engine)) {
            NDArray x = m.create(pixels, new Shape(IMAGES, 1, 32, 32));
            float[] before;
            try (ZooModel<NDList, NDList> zm = criteria(engine, null).loadModel()) {
                LoraModel lora =
                        LoraConfig.builder()
                                .optRank(2)
                                .optAlpha(3)
                                .optUseRslora(true)
                                .optTargets(TargetModules.names("attn.qkv", "attn.proj", "fc1"))
                                .optRankPattern(Map.of("fc1", 4))
                                .optModulesToSave("head")
                                .build()
                                .apply(zm);
                // stands for training: adapters and head away from their start
                Random r = new Random(9);
                for (LoraLinear l : lora.getLayers().values()) {
                    randomize(l.getLoraA(), r, 0.3);
                    randomize(l.getLoraB(), r, 0.3);
                }
                randomize(lora.getModulesToSave().get("head").getParameters().get("weight"), r, 1);
                before = logits(zm, x);
                Path file = SavedModel.save(zm, lora, dir, ARCH, splits());
                assertEquals(dir.resolve("model.safetensors"), file);
            }
            try (Stream<Path> s = Files.list(tmp.resolve("models"))) {
                assertEquals(1, s.count(), "no temporary folder left");
            }
            // the merged weights through the zoo's Criteria
            double merged;
            try (ZooModel<NDList, NDList> saved =
                    criteria(engine, dir.resolve("model.safetensors")).loadModel()) {
                merged = maxDiff(before, logits(saved, x));
            }
            // PEFT's adapter, saved before merging, onto a fresh base model in one call
            double adapter;
            try (ZooModel<NDList, NDList> fresh = criteria(engine, null).loadModel()) {
                LoraModel back = LoraModel.fromPretrained(fresh, dir);
                assertEquals(4, back.getLayers().get("blocks.0.mlp.fc1").getRank());
                assertTrue(back.getConfig().isUseRslora());
                adapter = maxDiff(before, logits(fresh, x));
            }
            System.out.printf(
                    "%s: max |logit difference| merged file %.3g, adapter %.3g%n",
                    engine, merged, adapter);
            assertTrue(merged < 1e-4, "merged: " + merged);
            assertTrue(adapter < 1e-6, "adapter: " + adapter);
            served(dir, engine, before, pngs, tmp.resolve("images"));
        }
        // timm's hub config.json, PEFT's adapter_config.json
        JsonObject cfg =
                JsonParser.parseString(Files.readString(dir.resolve("config.json")))
                        .getAsJsonObject();
        assertEquals(ARCH, cfg.get("architecture").getAsString());
        assertEquals(3, cfg.get("num_classes").getAsInt());
        assertEquals("[\"cat\",\"dog\",\"owl\"]", cfg.get("label_names").toString());
        assertEquals(1, cfg.getAsJsonObject("model_args").get("in_chans").getAsInt());
        JsonObject pre = cfg.getAsJsonObject("pretrained_cfg");
        assertEquals("[1,32,32]", pre.get("input_size").toString());
        assertEquals("[0.5]", pre.get("mean").toString());
        assertEquals("[0.25]", pre.get("std").toString());
        assertEquals(1.0, pre.get("crop_pct").getAsDouble());
        assertEquals(cfg.get("label_names"), pre.get("label_names"));
        LoraConfig saved =
                LoraConfig.fromJson(Files.readString(dir.resolve("adapter_config.json")));
        assertEquals(List.of("head"), saved.getModulesToSave());
        assertEquals(4, saved.getRank("blocks.1.mlp.fc1"));
        assertEquals(NAMES, Files.readAllLines(dir.resolve("synset.txt")));
    }

    /** A fully fine-tuned model (no LoRA): the weights as they are, no adapter files. */
    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void aFullyTrainedModelReloadsEveryWay(String engine, @TempDir Path tmp) throws Exception {
        List<Path> pngs = new ArrayList<>();
        float[] pixels = writeImages(tmp.resolve("images"), pngs);
        Path dir = tmp.resolve("models").resolve("full");
        try (NDManager m = NDManager.newBaseManager(engine)) {
            NDArray x = m.create(pixels, new Shape(IMAGES, 1, 32, 32));
            float[] before;
            try (ZooModel<NDList, NDList> zm = criteria(engine, null).loadModel()) {
                // stands for training: every weight away from its start
                Random r = new Random(4);
                for (Parameter p : BlockTree.parameters(zm.getBlock()).values()) {
                    float[] v = p.getArray().toFloatArray();
                    for (int i = 0; i < v.length; i++) {
                        v[i] += (float) (0.05 * r.nextGaussian());
                    }
                    p.getArray().set(v);
                }
                before = logits(zm, x);
                SavedModel.save(zm, null, dir, ARCH, splits());
            }
            try (Stream<Path> s = Files.list(dir)) {
                assertEquals(
                        List.of("config.json", "model.safetensors", "synset.txt"),
                        s.map(f -> f.getFileName().toString()).sorted().toList());
            }
            try (ZooModel<NDList, NDList> saved =
                    criteria(engine, dir.resolve("model.safetensors")).loadModel()) {
                assertArrayEquals(before, logits(saved, x), "the weights as they were");
            }
            // the folder itself, as a Hugging Face Hub checkpoint folder: its config says the rest
            try (ZooModel<NDList, NDList> saved =
                    Criteria.builder()
                            .setTypes(NDList.class, NDList.class)
                            .optGroupId(VitModelZoo.GROUP_ID)
                            .optArtifactId(ARCH)
                            .optEngine(engine)
                            .optArgument(VitModelLoader.ARG_WEIGHTS, dir.toString())
                            .build()
                            .loadModel()) {
                assertArrayEquals(before, logits(saved, x), "loaded from the folder");
            }
            served(dir, engine, before, pngs, tmp.resolve("images"));
        }
    }

    /** A save that fails leaves the earlier folder as it was, and no temporary folder. */
    @Test
    void aFailedSaveLeavesTheEarlierFolder(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("models").resolve("full");
        try (ZooModel<NDList, NDList> zm = criteria("PyTorch", null).loadModel()) {
            SavedModel.save(zm, null, dir, ARCH, splits());
        }
        byte[] weights = Files.readAllBytes(dir.resolve("model.safetensors"));
        Splits broken =
                new Splits() {
                    @Override
                    public List<String> classNames() {
                        throw new IllegalStateException("no class names");
                    }

                    @Override
                    public int channels() {
                        return 1;
                    }

                    @Override
                    public Preprocessing preprocessing() {
                        return splits().preprocessing();
                    }

                    @Override
                    public long trainCount() {
                        return 0;
                    }

                    @Override
                    public long testCount() {
                        return 0;
                    }

                    @Override
                    public RandomAccessDataset train(NDManager manager, int batch) {
                        throw new UnsupportedOperationException();
                    }

                    @Override
                    public RandomAccessDataset test(NDManager manager, int batch) {
                        throw new UnsupportedOperationException();
                    }
                };
        try (ZooModel<NDList, NDList> zm = criteria("PyTorch", null).loadModel()) {
            assertThrows(
                    IllegalStateException.class,
                    () -> SavedModel.save(zm, null, dir, ARCH, broken));
        }
        assertArrayEquals(weights, Files.readAllBytes(dir.resolve("model.safetensors")));
        assertEquals(NAMES, Files.readAllLines(dir.resolve("synset.txt")));
        try (Stream<Path> s = Files.list(tmp.resolve("models"))) {
            assertEquals(List.of(dir), s.toList(), "no temporary folder left");
        }
    }

    /**
     * Image -> Classifications through Predict's Criteria on the saved folder gives the softmax of
     * the logits the model had before saving, with the class names; so does the predict program on
     * the folder of images.
     */
    private static void served(
            Path dir, String engine, float[] before, List<Path> pngs, Path images)
            throws Exception {
        // Image -> Classifications from the folder: softmax of the same logits, its names
        List<String> best = new ArrayList<>();
        try (ZooModel<Image, Classifications> served = Predict.criteria(dir, engine).loadModel();
                Predictor<Image, Classifications> p = served.newPredictor()) {
            for (int n = 0; n < IMAGES; n++) {
                Classifications c = p.predict(ImageFactory.getInstance().fromFile(pngs.get(n)));
                double[] soft = softmax(before, n);
                int top = argMax(soft);
                best.add(NAMES.get(top));
                assertEquals(NAMES.get(top), c.best().getClassName(), "image " + n);
                assertEquals(soft[top], c.best().getProbability(), 1e-4, "image " + n);
            }
        }
        // the predict program on the folder of images
        CliRun run =
                CliRun.of(
                        Predict.commandLine(),
                        "--model-dir",
                        dir.toString(),
                        "--engine",
                        engine,
                        "--top",
                        "1",
                        images.toString());
        assertEquals(0, run.exitCode(), run.toString());
        List<String> lines = run.out().lines().toList();
        assertEquals(IMAGES, lines.size(), run.out());
        for (int n = 0; n < IMAGES; n++) {
            assertTrue(
                    lines.get(n).startsWith(pngs.get(n) + ": " + best.get(n) + " "), lines.get(n));
        }
    }

    private static double[] softmax(float[] logits, int row) {
        int k = NAMES.size();
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < k; i++) {
            max = Math.max(max, logits[row * k + i]);
        }
        double[] out = new double[k];
        double sum = 0;
        for (int i = 0; i < k; i++) {
            out[i] = Math.exp(logits[row * k + i] - max);
            sum += out[i];
        }
        for (int i = 0; i < k; i++) {
            out[i] /= sum;
        }
        return out;
    }

    private static int argMax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            best = v[i] > v[best] ? i : best;
        }
        return best;
    }
}
