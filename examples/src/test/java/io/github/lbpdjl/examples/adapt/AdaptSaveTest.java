package io.github.lbpdjl.examples.adapt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import io.github.lbpdjl.zoo.VitModelLoader;
import io.github.lbpdjl.zoo.VitModelZoo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --save}: each method's adapted model (LBP-WHT undone, LoRA merged) is a timm hub folder
 * (model.safetensors, config.json, synset.txt; PEFT's adapter for LoRA) that loads back through the
 * zoo's Criteria and classifies the test split exactly as the program reported.
 */
class AdaptSaveTest {

    @Test
    void savedModelsServeTheReportedAccuracy(@TempDir Path tmp) throws Exception {
        Path data = TinyIdx.write(tmp.resolve("data"), 128, 64);
        Adapt a = new Adapt();
        a.data = data.toString();
        a.pretrained = "none";
        a.methods = List.of("full", "lbp-l1-2", "lora-4");
        a.epochs = 1;
        a.batch = 32;
        a.lr = 2e-3f;
        a.save = true;
        a.out = tmp.resolve("out");
        assertEquals(0, a.call());
        List<String> csv = Files.readAllLines(a.out.resolve("results.csv"));
        int acc = List.of(csv.get(0).split(",")).indexOf("test_accuracy");
        ImageData test = ImageData.idx(data, false, tmp.resolve("cache"));
        for (int i = 0; i < a.methods.size(); i++) {
            String method = a.methods.get(i);
            Path dir = a.out.resolve("models").resolve(method);
            Path params = dir.resolve("model.safetensors");
            assertTrue(Files.isRegularFile(params), "saved: " + params);
            assertEquals(10, Files.readAllLines(dir.resolve("synset.txt")).size());
            // one weights file; for LoRA also PEFT's adapter, saved before merging
            try (Stream<Path> s = Files.list(dir)) {
                List<String> names = s.map(p -> p.getFileName().toString()).sorted().toList();
                List<String> want =
                        method.startsWith("lora")
                                ? List.of(
                                        "adapter_config.json",
                                        "adapter_model.safetensors",
                                        "config.json",
                                        "model.safetensors",
                                        "synset.txt")
                                : List.of("config.json", "model.safetensors", "synset.txt");
                assertEquals(want, names, method);
            }
            double reported = Double.parseDouble(csv.get(i + 1).split(",", -1)[acc]);
            assertEquals(reported, accuracy(params, test), 1e-9, method);
        }
        try (Stream<Path> s = Files.list(a.out.resolve("models"))) {
            assertEquals(3, s.count(), "no temporary folders left");
        }
    }

    private static double accuracy(Path params, ImageData test) throws Exception {
        Criteria<NDList, NDList> c =
                Criteria.builder()
                        .setTypes(NDList.class, NDList.class)
                        .optGroupId(VitModelZoo.GROUP_ID)
                        .optArtifactId("vit_micro_patch4_32")
                        .optEngine("PyTorch")
                        .optArgument(VitModelLoader.ARG_NUM_CLASSES, 10)
                        .optArgument(VitModelLoader.ARG_IN_CHANNELS, 1)
                        .optArgument(VitModelLoader.ARG_WEIGHTS, params.toString())
                        .build();
        try (ZooModel<NDList, NDList> model = c.loadModel();
                Predictor<NDList, NDList> p = model.newPredictor();
                NDManager m = NDManager.newBaseManager("PyTorch")) {
            NDArray x =
                    m.create(
                            test.images(0, test.count),
                            new Shape(test.count, 1, test.size, test.size));
            NDArray pred = p.predict(new NDList(x)).singletonOrThrow().argMax(1);
            long correct = 0;
            long[] labels = pred.toLongArray();
            for (int i = 0; i < test.count; i++) {
                correct += labels[i] == test.labels[i] ? 1 : 0;
            }
            return (double) correct / test.count;
        }
    }
}
