package io.github.lbpdjl.zoo;

import static io.github.lbpdjl.zoo.ZooTestSupport.load;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.MalformedModelException;
import ai.djl.engine.Engine;
import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelZoo;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.safetensors.DType;
import io.github.lbpdjl.safetensors.SafetensorsWriter;
import io.github.lbpdjl.safetensors.Tensor;
import io.github.lbpdjl.zoo.swin.SwinTransformerV2;
import java.awt.image.BufferedImage;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The SwinV2 variants: timm's state_dict names and shapes (dumped by make_swinv2_fixtures.py from
 * timm's own models), loading through DJL's Criteria from timm-named safetensors on both engines,
 * and Image -> Classifications.
 */
class SwinV2ZooTest {

    private static final String TINY = "swinv2_tiny_window8_256";

    @TempDir Path tmp;

    private static SwinTransformerV2 swin(ZooModel<?, ?> m) {
        return (SwinTransformerV2) m.getBlock();
    }

    private static float[] logits(ZooModel<?, ?> model, float[] input, int batch) {
        SwinTransformerV2 s = swin(model);
        try (NDManager sub = model.getNDManager().newSubManager()) {
            NDArray x = sub.create(input, s.getInputShape(batch));
            return s.forward(new ParameterStore(sub, false), new NDList(x), false)
                    .singletonOrThrow()
                    .toFloatArray();
        }
    }

    private static float[] image(long seed) {
        Random rng = new Random(seed);
        float[] x = new float[3 * 256 * 256];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return x;
    }

    /** timm's state_dict entries (key, shape) of a variant. */
    private static Map<String, String> timmStateDict(SwinV2Variant v) throws Exception {
        URL url = SwinV2ZooTest.class.getResource("swin/" + v.getName() + ".keys.txt");
        assertNotNull(url, v.getName() + ".keys.txt");
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(Paths.get(url.toURI()))) {
            if (!line.startsWith("#") && !line.isBlank()) {
                String[] e = line.split(" ");
                out.put(e[0], e[1]);
            }
        }
        return out;
    }

    @Test
    void everyVariantIsInTheZooWithTimmsPreprocessing() {
        ModelZoo zoo = ModelZoo.getModelZoo(VitModelZoo.GROUP_ID);
        for (SwinV2Variant v : SwinV2Variant.values()) {
            SwinV2ModelLoader loader = (SwinV2ModelLoader) zoo.getModelLoader(v.getName());
            assertNotNull(loader, v.getName());
            Preprocessing p = loader.getPreprocessing();
            assertEquals(256, p.getImageSize());
            assertEquals(0.9, p.getCropPct());
            assertEquals(Image.Interpolation.BICUBIC, p.getInterpolation());
        }
    }

    @ParameterizedTest
    @EnumSource(SwinV2Variant.class)
    void parameterNamesAndShapesAreTimmsStateDict(SwinV2Variant v) throws Exception {
        SwinTransformerV2 model = v.build();
        Map<String, String> want = timmStateDict(v);
        // names before initialisation, in state_dict order
        assertEquals(List.copyOf(want.keySet()), List.copyOf(BlockTree.parameters(model).keySet()));
        try (NDManager m = Engine.getEngine("PyTorch").newBaseManager()) {
            model.initialize(m);
            Map<String, String> got = new LinkedHashMap<>();
            for (Map.Entry<String, Parameter> e : model.timmParameters().entrySet()) {
                List<String> dims = new ArrayList<>();
                for (long d : e.getValue().getArray().getShape().getShape()) {
                    dims.add(Long.toString(d));
                }
                got.put(e.getKey(), String.join("x", dims));
            }
            assertEquals(want, got);
        }
    }

    @Test
    void timmNamedWeightsLoadOnBothEnginesAndTheHeadFollowsNumClasses() throws Exception {
        Path file = tmp.resolve("swinv2_tiny.safetensors");
        float[] x = image(3);
        float[] pt;
        try (ZooModel<NDList, NDList> m = load(TINY, "PyTorch", Map.of("seed", 7))) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (Map.Entry<String, Parameter> e : swin(m).timmParameters().entrySet()) {
                tensors.put(e.getKey(), Tensor.fromNDArray(e.getValue().getArray(), DType.F32));
            }
            SafetensorsWriter.write(file, tensors, Map.of("format", "pt"));
            pt = logits(m, x, 1);
        }
        try (ZooModel<NDList, NDList> m = load(TINY, "MXNet", Map.of("weights", file.toString()))) {
            float[] mx = logits(m, x, 1);
            double diff = 0;
            double scale = 0;
            for (int i = 0; i < pt.length; i++) {
                diff = Math.max(diff, Math.abs(pt[i] - mx[i]));
                scale = Math.max(scale, Math.abs(pt[i]));
            }
            assertTrue(diff <= 2e-5 * scale, "MXNet vs PyTorch: " + diff / scale);
        }
        try (ZooModel<NDList, NDList> m =
                load(TINY, "PyTorch", Map.of("weights", file.toString(), "numClasses", 10))) {
            assertEquals(10, logits(m, x, 1).length);
        }
    }

    @Test
    void aCheckpointOfAnotherShapeIsRefusedNamingATensor() throws Exception {
        URL url = getClass().getResource("swin/swinv2_tiny2_w8_64.safetensors");
        String small = Paths.get(url.toURI()).toString();
        MalformedModelException e =
                assertThrows(
                        MalformedModelException.class,
                        () -> load(TINY, "PyTorch", Map.of("weights", small)).close());
        // a two-stage checkpoint on the four-stage model: the missing stages are named
        assertTrue(
                e.getMessage().contains("missing tensor(s)")
                        && e.getMessage().contains("layers.2.downsample.reduction.weight"),
                e.getMessage());
    }

    @Test
    void imageToClassificationsNormalisesAsTimm() throws Exception {
        Criteria<Image, Classifications> criteria =
                Criteria.builder()
                        .setTypes(Image.class, Classifications.class)
                        .optGroupId(VitModelZoo.GROUP_ID)
                        .optArtifactId(TINY)
                        .optEngine("PyTorch")
                        .optArgument("numClasses", 3)
                        .optArgument("cropPct", 1)
                        .optArgument("synset", "cat,dog,fox")
                        .build();
        BufferedImage img = new BufferedImage(256, 256, BufferedImage.TYPE_INT_RGB);
        Random rng = new Random(5);
        float[] want = new float[3 * 256 * 256];
        float[] mean = {0.485f, 0.456f, 0.406f};
        float[] std = {0.229f, 0.224f, 0.225f};
        for (int y = 0; y < 256; y++) {
            for (int x = 0; x < 256; x++) {
                int rgb = rng.nextInt(1 << 24);
                img.setRGB(x, y, rgb);
                for (int c = 0; c < 3; c++) {
                    int v = (rgb >> (16 - 8 * c)) & 0xff;
                    want[(c * 256 + y) * 256 + x] = (v / 255f - mean[c]) / std[c];
                }
            }
        }
        try (ZooModel<Image, Classifications> m = criteria.loadModel();
                Predictor<Image, Classifications> p = m.newPredictor()) {
            Classifications got = p.predict(ImageFactory.getInstance().fromImage(img));
            float[] logits = logits(m, want, 1);
            double max = Double.NEGATIVE_INFINITY;
            for (float l : logits) {
                max = Math.max(max, l);
            }
            double sum = 0;
            for (float l : logits) {
                sum += Math.exp(l - max);
            }
            String[] names = {"cat", "dog", "fox"};
            for (int i = 0; i < 3; i++) {
                double prob = Math.exp(logits[i] - max) / sum;
                assertEquals(prob, got.get(names[i]).getProbability(), 1e-5, names[i]);
            }
        }
    }
}
