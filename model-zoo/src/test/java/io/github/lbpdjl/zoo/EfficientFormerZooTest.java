package io.github.lbpdjl.zoo;

import static io.github.lbpdjl.zoo.ZooTestSupport.load;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.ModelZoo;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.safetensors.DType;
import io.github.lbpdjl.wht.TokenLayout;
import io.github.lbpdjl.zoo.efficientformer.EfficientFormer;
import java.net.URL;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The EfficientFormer variants load through DJL's Criteria, untrained or from timm weights. */
class EfficientFormerZooTest {

    private static final String L1 = "efficientformer_l1";

    @TempDir Path tmp;

    private static EfficientFormer ef(ZooModel<?, ?> m) {
        return (EfficientFormer) m.getBlock();
    }

    private static float[] logits(ZooModel<?, ?> model, float[] input, int batch) {
        EfficientFormer ef = ef(model);
        try (NDManager sub = model.getNDManager().newSubManager()) {
            NDArray x = sub.create(input, ef.getInputShape(batch));
            return ef.forward(new ParameterStore(sub, false), new NDList(x), false)
                    .singletonOrThrow()
                    .toFloatArray();
        }
    }

    private static float[] image(int channels, long seed) {
        Random rng = new Random(seed);
        float[] x = new float[channels * 224 * 224];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return x;
    }

    @Test
    void everyVariantIsInTheZoo() {
        ModelZoo zoo = ModelZoo.getModelZoo(VitModelZoo.GROUP_ID);
        for (EfficientFormerVariant v : EfficientFormerVariant.values()) {
            assertNotNull(zoo.getModelLoader(v.getName()), v.getName());
        }
    }

    @ParameterizedTest
    @EnumSource(EfficientFormerVariant.class)
    void eachVariantLoadsAndRuns(EfficientFormerVariant v) throws Exception {
        try (ZooModel<NDList, NDList> m = load(v.getName(), "PyTorch", Map.of())) {
            EfficientFormer ef = ef(m);
            assertEquals(1000, ef.getNumClasses());
            assertEquals(TokenLayout.grid(0, 7, 7), TokenLayout.of(ef));
            assertEquals(v.getName(), m.getProperty("artifactId"));
            float[] out = logits(m, image(3, 1), 1);
            assertEquals(1000, out.length);
            assertTrue(Float.isFinite(out[0]) && Float.isFinite(out[999]));
        }
    }

    @Test
    void seededAndShapedByArguments() throws Exception {
        float[] x = image(1, 2);
        float[] a;
        float[] b;
        float[] c;
        Map<String, Object> args = Map.of("numClasses", 10, "inChannels", "1");
        try (ZooModel<NDList, NDList> m = load(L1, "MXNet", args)) {
            assertEquals(10, ef(m).getNumClasses());
            assertEquals(new Shape(2, 1, 224, 224), ef(m).getInputShape(2));
            a = logits(m, x, 1);
        }
        try (ZooModel<NDList, NDList> m = load(L1, "MXNet", args)) {
            b = logits(m, x, 1);
        }
        try (ZooModel<NDList, NDList> m =
                load(L1, "MXNet", Map.of("numClasses", 10, "inChannels", 1, "seed", 5))) {
            c = logits(m, x, 1);
        }
        assertEquals(Arrays.toString(a), Arrays.toString(b), "same seed, same model");
        assertFalse(Arrays.equals(a, c), "another seed, another model");
    }

    @Test
    void timmWeightsLoadOnBothEnginesAndHeadsFollowNumClasses() throws Exception {
        Path file = tmp.resolve("efficientformer_l1.safetensors");
        float[] x = image(3, 3);
        float[] pt;
        try (ZooModel<NDList, NDList> m = load(L1, "PyTorch", Map.of("seed", 7))) {
            EfficientFormerWeights.save(ef(m), file, DType.F32, null);
            pt = logits(m, x, 1);
        }
        try (ZooModel<NDList, NDList> m = load(L1, "MXNet", Map.of("weights", file.toString()))) {
            float[] mx = logits(m, x, 1);
            System.out.println(
                    "DBG pt "
                            + Arrays.toString(Arrays.copyOf(pt, 5))
                            + " mx "
                            + Arrays.toString(Arrays.copyOf(mx, 5)));
            double diff = 0;
            double scale = 0;
            for (int i = 0; i < pt.length; i++) {
                diff = Math.max(diff, Math.abs(pt[i] - mx[i]));
                scale = Math.max(scale, Math.abs(pt[i]));
            }
            assertTrue(diff <= 2e-5 * scale, "MXNet vs PyTorch: " + diff / scale);
        }
        try (ZooModel<NDList, NDList> m =
                load(L1, "PyTorch", Map.of("weights", file.toString(), "numClasses", 10))) {
            assertEquals(10, logits(m, x, 1).length);
        }
    }

    @Test
    void aCheckpointOfAnotherShapeIsRefusedNamingATensor() throws Exception {
        URL url = getClass().getResource("efficientformer/efficientformer_tiny2_56.safetensors");
        String tiny = Paths.get(url.toURI()).toString();
        MalformedModelException e =
                assertThrows(
                        MalformedModelException.class,
                        () -> load(L1, "PyTorch", Map.of("weights", tiny)).close());
        assertTrue(
                e.getMessage().contains("unexpected tensor(s)")
                        && e.getMessage().contains("stages.1.blocks.1.token_mixer.qkv.weight"),
                e.getMessage());
    }
}
