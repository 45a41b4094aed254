package io.github.lbpdjl.examples.adapt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.lbpdjl.zoo.VitModelLoader;
import io.github.lbpdjl.zoo.VitModelZoo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The adaptation program on a folder of PNG images, one sub-folder per class (Fashion-MNIST written
 * as PNG): found without --format, split or given as train/ and test/, grey and colour images, both
 * engines, the adapted model saved with its class names; and one-line errors for folders that
 * cannot be used.
 */
class AdaptFolderTest {

    private static final List<String> NAMES = List.of("sneaker", "t-shirt", "trouser");

    @Test
    void aFolderOfGreyPngsIsSplitAdaptedAndSavedWithItsClassNames(@TempDir Path tmp)
            throws Exception {
        Path data = tmp.resolve("photos");
        PngFolders.write(data, "train", 0, 240, false);
        Adapt a = new Adapt();
        a.data = data.toString();
        a.methods = List.of("full", "lbp-l1-2");
        a.epochs = 2;
        a.batch = 32;
        a.lr = 1e-3f;
        a.noAugment = true;
        a.save = true;
        a.out = tmp.resolve("out");
        CliRun run = run(a);
        assertEquals(0, run.exitCode(), run.toString());
        assertEquals("folder", a.format, "found without --format");
        List<String> csv = Files.readAllLines(a.out.resolve("results.csv"));
        int acc = List.of(csv.get(0).split(",")).indexOf("test_accuracy");
        for (String row : csv.subList(1, csv.size())) {
            double accuracy = Double.parseDouble(row.split(",", -1)[acc]);
            // three classes (chance 1/3), 192 training and 48 test images
            assertTrue(accuracy > 0.6, "learns the three classes: " + row);
        }
        for (String m : a.methods) {
            Path synset = a.out.resolve("models").resolve(m).resolve("synset.txt");
            assertEquals(NAMES, Files.readAllLines(synset), m);
        }
        // served: the saved model classifies an image file, naming the classes from synset.txt
        Path params = a.out.resolve("models").resolve("full").resolve("model.safetensors");
        Criteria<Path, Classifications> served =
                Criteria.builder()
                        .setTypes(Path.class, Classifications.class)
                        .optGroupId(VitModelZoo.GROUP_ID)
                        .optArtifactId("vit_micro_patch4_32")
                        .optEngine("PyTorch")
                        .optArgument(VitModelLoader.ARG_NUM_CLASSES, 3)
                        .optArgument(VitModelLoader.ARG_WEIGHTS, params.toString())
                        .build();
        int right = 0;
        int total = 0;
        try (ZooModel<Path, Classifications> model = served.loadModel();
                Predictor<Path, Classifications> p = model.newPredictor()) {
            for (String name : NAMES) {
                try (var files = Files.list(data.resolve(name))) {
                    for (Path png : files.limit(10).toList()) {
                        Classifications c = p.predict(png);
                        assertEquals(3, c.items().size());
                        assertTrue(NAMES.contains(c.best().getClassName()), c.toString());
                        right += c.best().getClassName().equals(name) ? 1 : 0;
                        total++;
                    }
                }
            }
        }
        assertTrue(
                right > 0.6 * total, "the served model knows the classes: " + right + "/" + total);
        // the predict program: the saved folder alone, files and folders of images
        Path saved = a.out.resolve("models").resolve("lbp-l1-2");
        JsonObject config =
                JsonParser.parseString(Files.readString(saved.resolve("config.json")))
                        .getAsJsonObject();
        assertEquals("vit_micro_patch4_32", config.get("architecture").getAsString());
        assertEquals(3, config.get("num_classes").getAsInt());
        assertEquals(
                "[1,32,32]", config.getAsJsonObject("pretrained_cfg").get("input_size").toString());
        CliRun predicted =
                CliRun.of(
                        Predict.commandLine(),
                        "--model-dir",
                        saved.toString(),
                        "--top",
                        "2",
                        data.toString());
        assertEquals(0, predicted.exitCode(), predicted.toString());
        List<String> lines = predicted.out().lines().toList();
        assertEquals(240, lines.size(), "a line per image under the folder");
        long hits =
                lines.stream()
                        .filter(l -> l.contains("/" + l.split(": ")[1].split(" ")[0] + "/"))
                        .count();
        assertTrue(hits > 0.6 * lines.size(), "top class is the image's folder: " + hits);
        CliRun missing =
                CliRun.of(Predict.commandLine(), "--model-dir", tmp.toString(), data.toString());
        assertEquals(1, missing.exitCode(), missing.toString());
        assertEquals(
                "predict: " + tmp + " holds no config.json: not a saved model",
                missing.err().strip());
        assertTrue(run.out().contains("192 training and 48 test images, 3 classes"), run.out());
    }

    @Test
    void colourTrainAndTestFoldersRunWithAugmentationOnMxnet(@TempDir Path tmp) throws Exception {
        Path data = tmp.resolve("photos");
        PngFolders.write(data.resolve("train"), "train", 0, 96, true);
        PngFolders.write(data.resolve("test"), "t10k", 0, 48, true);
        Adapt a = new Adapt();
        a.data = data.toString();
        a.engine = "MXNet";
        a.methods = List.of("lbp-l1-2");
        a.epochs = 1;
        a.batch = 16;
        a.out = tmp.resolve("out");
        CliRun run = run(a);
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().contains("96 training and 48 test images, 3 classes"), run.out());
        List<String> csv = Files.readAllLines(a.out.resolve("results.csv"));
        int acc = List.of(csv.get(0).split(",")).indexOf("test_accuracy");
        double accuracy = Double.parseDouble(csv.get(1).split(",", -1)[acc]);
        assertTrue(accuracy >= 0 && accuracy <= 1, csv.get(1));
    }

    @Test
    void aFolderThatCannotBeUsedIsOneLineNamingIt(@TempDir Path tmp) throws Exception {
        Path one = tmp.resolve("one-class");
        PngFolders.write(one, "train", 0, 30, false);
        for (String name : List.of("trouser", "sneaker")) {
            try (var s = Files.list(one.resolve(name))) {
                for (Path p : s.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(one.resolve(name));
        }
        Path mixed = tmp.resolve("mixed");
        PngFolders.write(mixed.resolve("train"), "train", 0, 30, false);
        PngFolders.write(mixed.resolve("test"), "t10k", 0, 30, false);
        Files.move(mixed.resolve("test").resolve("sneaker"), mixed.resolve("test").resolve("shoe"));
        for (Path dir : List.of(one, mixed)) {
            Adapt a = new Adapt();
            a.data = dir.toString();
            a.format = "folder";
            a.out = tmp.resolve("out-" + dir.getFileName());
            CliRun run = run(a, "--format", "folder");
            assertEquals(1, run.exitCode(), run.toString());
            assertTrue(run.err().startsWith("adapt: "), run.toString());
            assertTrue(run.err().contains(dir.toString()), "names the folder: " + run);
            assertEquals(1, run.err().lines().count(), run.toString());
            assertFalse(run.err().contains("\tat "), run.toString());
        }
    }

    /** Runs the program with the fields of {@code a} as options, capturing its output. */
    private static CliRun run(Adapt a, String... more) {
        List<String> args =
                new java.util.ArrayList<>(
                        List.of(
                                "--data", a.data,
                                "--engine", a.engine,
                                "--methods", String.join(",", a.methods),
                                "--epochs", String.valueOf(a.epochs),
                                "--batch", String.valueOf(a.batch),
                                "--lr", String.valueOf(a.lr),
                                "--out", a.out.toString()));
        if (a.noAugment) {
            args.add("--no-augment");
        }
        if (a.save) {
            args.add("--save");
        }
        args.addAll(List.of(more));
        CommandLine cmd = Adapt.commandLine();
        CliRun run = CliRun.ofSystemOut(cmd, args.toArray(new String[0]));
        a.format = ((Adapt) cmd.getCommand()).format;
        return run;
    }
}
