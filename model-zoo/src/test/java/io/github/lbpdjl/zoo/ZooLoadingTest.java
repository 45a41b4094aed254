package io.github.lbpdjl.zoo;

import static io.github.lbpdjl.zoo.ZooTestSupport.assertClose;
import static io.github.lbpdjl.zoo.ZooTestSupport.input;
import static io.github.lbpdjl.zoo.ZooTestSupport.load;
import static io.github.lbpdjl.zoo.ZooTestSupport.logits;
import static io.github.lbpdjl.zoo.ZooTestSupport.vit;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Application;
import ai.djl.MalformedModelException;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.repository.MRL;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ModelZoo;
import ai.djl.repository.zoo.ZooModel;
import io.github.lbpdjl.safetensors.DType;
import io.github.lbpdjl.wht.TokenLayout;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ZooLoadingTest {

    private static final String MICRO = "vit_micro_patch4_32";

    @TempDir Path tmp;

    @Test
    void zooIsRegistered() {
        ModelZoo zoo = ModelZoo.getModelZoo(VitModelZoo.GROUP_ID);
        assertNotNull(zoo, "zoo not registered through ServiceLoader");
        assertEquals(
                VitVariant.values().length
                        + EfficientFormerVariant.values().length
                        + SwinV2Variant.values().length,
                zoo.getModelLoaders().size());
        assertNotNull(zoo.getModelLoader("deit_small_patch16_224"));
        Map<Application, List<MRL>> models =
                ModelZoo.listModels(
                        Criteria.builder()
                                .optGroupId(VitModelZoo.GROUP_ID)
                                .optArtifactId(MICRO)
                                .build());
        assertTrue(models.toString().contains(MICRO), models.toString());
    }

    @Test
    void untrainedModelIsSeededAndHasTheTokenLayout() throws Exception {
        float[] a;
        float[] b;
        float[] c;
        try (ZooModel<NDList, NDList> m = load(MICRO, "PyTorch", Map.of())) {
            VisionTransformer vit = vit(m);
            assertEquals(TokenLayout.grid(1, 8, 8), TokenLayout.of(vit));
            assertEquals(10, vit.getNumClasses());
            a = logits(m, input(vit, 2, 1), 2);
            // through a Predictor as a user would
            try (Predictor<NDList, NDList> p = m.newPredictor();
                    NDManager sub = m.getNDManager().newSubManager()) {
                NDList out =
                        p.predict(new NDList(sub.create(input(vit, 2, 1), vit.getInputShape(2))));
                assertArrayEquals(a, out.singletonOrThrow().toFloatArray(), 1e-6f);
            }
        }
        try (ZooModel<NDList, NDList> m = load(MICRO, "PyTorch", Map.of())) {
            b = logits(m, input(vit(m), 2, 1), 2);
        }
        try (ZooModel<NDList, NDList> m = load(MICRO, "PyTorch", Map.of("seed", 5))) {
            c = logits(m, input(vit(m), 2, 1), 2);
        }
        assertArrayEquals(a, b, 0f, "same seed, same model");
        assertFalse(Arrays.equals(a, c), "another seed, another model");
    }

    @Test
    void optionsSetClassesAndChannels() throws Exception {
        try (ZooModel<NDList, NDList> m =
                load(
                        "vit_tiny_patch16_224",
                        "PyTorch",
                        Map.of("numClasses", 7, "inChannels", "1"))) {
            VisionTransformer vit = vit(m);
            assertEquals(7, vit.getNumClasses());
            assertEquals(1, vit.getInChannels());
            assertEquals(TokenLayout.grid(1, 14, 14), TokenLayout.of(vit));
        }
        Criteria<NDList, NDList> viaOption =
                Criteria.builder()
                        .setTypes(NDList.class, NDList.class)
                        .optGroupId(VitModelZoo.GROUP_ID)
                        .optArtifactId(MICRO)
                        .optEngine("MXNet")
                        .optOption("numClasses", "3")
                        .build();
        try (ZooModel<NDList, NDList> m = viaOption.loadModel()) {
            assertEquals(3, vit(m).getNumClasses());
        }
    }

    @Test
    void bothEnginesGiveTheSameLogits() throws Exception {
        Path file = tmp.resolve("micro.safetensors");
        float[] pt;
        float[] x;
        try (ZooModel<NDList, NDList> m = load(MICRO, "PyTorch", Map.of("seed", 11))) {
            x = input(vit(m), 4, 2);
            pt = logits(m, x, 4);
            VitWeights.save(vit(m), file, DType.F32, null);
        }
        try (ZooModel<NDList, NDList> m =
                load(MICRO, "MXNet", Map.of("weights", file.toString()))) {
            float[] mx = logits(m, x, 4);
            assertClose(pt, mx, 1e-4, "MXNet vs PyTorch");
        }
    }

    @Test
    void paramsRoundTrip() throws Exception {
        for (String engine : new String[] {"PyTorch", "MXNet"}) {
            Path dir = Files.createDirectories(tmp.resolve(engine));
            float[] want;
            float[] x;
            try (ZooModel<NDList, NDList> m = load(MICRO, engine, Map.of("seed", 3))) {
                x = input(vit(m), 2, 9);
                want = logits(m, x, 2);
                m.save(dir, "micro");
            }
            Path params = dir.resolve("micro-0000.params");
            assertTrue(
                    Files.isRegularFile(params), "saved " + Arrays.toString(dir.toFile().list()));
            try (ZooModel<NDList, NDList> m =
                    load(MICRO, engine, Map.of("weights", params.toString()))) {
                assertArrayEquals(want, logits(m, x, 2), 0f, engine);
            }
            // .params of another shape is refused with the parameter named
            Path otherDir = Files.createDirectories(tmp.resolve(engine + "-other"));
            try (ZooModel<NDList, NDList> m = load(MICRO, engine, Map.of("numClasses", 4))) {
                m.save(otherDir, "micro");
            }
            Path other = otherDir.resolve("micro-0000.params");
            MalformedModelException e =
                    assertThrows(
                            MalformedModelException.class,
                            () -> load(MICRO, engine, Map.of("weights", other.toString())).close());
            assertTrue(e.getMessage().contains("head.weight"), e.getMessage());
        }
    }

    @Test
    void unknownDatasetOrFilterIsNotFound() {
        Criteria<NDList, NDList> c =
                Criteria.builder()
                        .setTypes(NDList.class, NDList.class)
                        .optGroupId(VitModelZoo.GROUP_ID)
                        .optArtifactId("vit_small_patch16_224")
                        .optEngine("PyTorch")
                        .optFilter("dataset", "imagenet")
                        .build();
        ModelNotFoundException e = assertThrows(ModelNotFoundException.class, c::loadModel);
        assertNotNull(e.getCause());
        assertTrue(e.getCause().getMessage().contains("imagenet"), e.getCause().getMessage());
    }
}
