package io.github.lbpdjl.examples.adapt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.lbpdjl.zoo.TimmModelLoader;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --weights} takes a checkpoint folder as the Hugging Face Hub holds it: timm's {@code
 * config.json} beside {@code model.safetensors} (here the zoo's own MNIST micro ViT).
 */
class AdaptHubFolderTest {

    @Test
    void adaptsFromATimmHubFolder(@TempDir Path tmp) throws Exception {
        Path hub = hubFolder(tmp, "0.1307", "0.3081");
        Path data = TinyIdx.write(tmp.resolve("data"), 64, 32);
        Path out = tmp.resolve("out");
        CliRun run =
                CliRun.ofSystemOut(
                        Adapt.commandLine(),
                        "--data",
                        data.toString(),
                        "--weights",
                        hub.toString(),
                        "--methods",
                        "full",
                        "--epochs",
                        "1",
                        "--out",
                        out.toString());
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().contains("(" + hub + ")"), run.out());
        assertTrue(Files.isRegularFile(out.resolve("results.csv")));
    }

    /** The zoo's MNIST micro ViT as a timm hub folder whose config states a mean and std. */
    private static Path hubFolder(Path tmp, String mean, String std) throws Exception {
        Path hub = Files.createDirectories(tmp.resolve("hub"));
        String resource =
                TimmModelLoader.WEIGHTS_RESOURCE_DIR + "vit_micro_patch4_32-mnist.safetensors";
        try (InputStream in =
                TimmModelLoader.class.getClassLoader().getResourceAsStream(resource)) {
            Files.copy(in, hub.resolve("model.safetensors"));
        }
        Files.writeString(
                hub.resolve("config.json"),
                "{\"architecture\": \"vit_micro_patch4_32\", \"num_classes\": 10,"
                        + " \"pretrained_cfg\": {\"input_size\": [1, 32, 32],"
                        + " \"interpolation\": \"bilinear\", \"crop_pct\": 1.1428571428571428,"
                        + " \"mean\": ["
                        + mean
                        + "], \"std\": ["
                        + std
                        + "], \"num_classes\": 10}}");
        return hub;
    }

    @Test
    void imagesArePreparedAsTheFoldersConfigSays(@TempDir Path tmp) throws Exception {
        Path hub = hubFolder(tmp, "0.25", "0.5");
        Path images = tmp.resolve("images");
        PngFolders.write(images.resolve("train"), "train", 0, 20, false);
        PngFolders.write(images.resolve("test"), "t10k", 0, 10, false);
        Adapt a = new Adapt();
        a.format = "folder";
        a.data = images.toString();
        a.weights = hub.toString();
        Splits splits = a.splits();
        assertArrayEquals(new float[] {0.25f}, splits.preprocessing().getMean());
        assertArrayEquals(new float[] {0.5f}, splits.preprocessing().getStd());
        a.weights = null;
        assertArrayEquals(
                new float[] {0.1307f}, a.splits().preprocessing().getMean(), 1e-6f, "--model's");
    }
}
