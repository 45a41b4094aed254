package io.github.lbpdjl.zoo;

import static io.github.lbpdjl.zoo.ImageClassificationTest.classifier;
import static io.github.lbpdjl.zoo.ImageClassificationTest.classify;
import static io.github.lbpdjl.zoo.ImageClassificationTest.randomGrey;
import static io.github.lbpdjl.zoo.ImageClassificationTest.randomRgb;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.MalformedModelException;
import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.output.DetectedObjects;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The arguments of the Image -> Classifications path, and its errors. */
class ClassificationArgumentsTest {

    private static final String MICRO = "vit_micro_patch4_32";
    private static final List<String> DIGITS =
            List.of("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine");

    @TempDir Path tmp;

    @Test
    void synsetNamesTheClasses() throws Exception {
        Criteria<Image, Classifications> criteria =
                Criteria.builder()
                        .setTypes(Image.class, Classifications.class)
                        .optGroupId(VitModelZoo.GROUP_ID)
                        .optArtifactId(MICRO)
                        .optEngine("PyTorch")
                        .optFilter("dataset", "mnist")
                        .optOption("synset", String.join(", ", DIGITS)) // as a string option too
                        .build();
        Classifications named;
        try (ZooModel<Image, Classifications> m = criteria.loadModel()) {
            named = classify(m, randomGrey(28, 28, 1));
        }
        assertEquals(DIGITS, named.getClassNames());
        Classifications numbered;
        try (ZooModel<Image, Classifications> m =
                classifier(MICRO, "PyTorch", Map.of("pretrained", "mnist"))) {
            numbered = classify(m, randomGrey(28, 28, 1));
        }
        assertEquals(numbered.getProbabilities(), named.getProbabilities());
        int best = Integer.parseInt(numbered.best().getClassName());
        assertEquals(DIGITS.get(best), named.best().getClassName());
    }

    @Test
    void synsetFileHasOneNamePerLine() throws Exception {
        Path file = tmp.resolve("synset.txt");
        Files.writeString(file, String.join("\n", DIGITS) + "\n\n", StandardCharsets.UTF_8);
        try (ZooModel<Image, Classifications> m =
                classifier(MICRO, "MXNet", Map.of("synsetFile", file.toString()))) {
            assertEquals(DIGITS, classify(m, randomGrey(28, 28, 2)).getClassNames());
        }
    }

    @Test
    void wrongNumberOfNamesIsOneLine() throws Exception {
        MalformedModelException e =
                assertThrows(
                        MalformedModelException.class,
                        () -> classifier(MICRO, "PyTorch", Map.of("synset", "a,b,c")).close());
        assertEquals(
                "synset has 3 class names but vit_micro_patch4_32 has 10 classes", e.getMessage());

        Path file = tmp.resolve("twelve.txt");
        Files.writeString(file, "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n", StandardCharsets.UTF_8);
        e =
                assertThrows(
                        MalformedModelException.class,
                        () ->
                                classifier(MICRO, "PyTorch", Map.of("synsetFile", file.toString()))
                                        .close());
        assertTrue(e.getMessage().contains(" has 12 class names but "), e.getMessage());
        assertTrue(e.getMessage().contains(" has 10 classes"), e.getMessage());

        Path missing = tmp.resolve("missing.txt");
        e =
                assertThrows(
                        MalformedModelException.class,
                        () ->
                                classifier(
                                                MICRO,
                                                "PyTorch",
                                                Map.of("synsetFile", missing.toString()))
                                        .close());
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());

        e =
                assertThrows(
                        MalformedModelException.class,
                        () ->
                                classifier(
                                                MICRO,
                                                "PyTorch",
                                                Map.of("synset", "a", "synsetFile", "b"))
                                        .close());
        assertTrue(e.getMessage().contains("not both"), e.getMessage());
    }

    @Test
    void badPreprocessingArgumentsAreNamed() {
        assertRefused(Map.of("cropPct", "abc"), "cropPct must be a number, got abc");
        assertRefused(Map.of("cropPct", 0), "cropPct must be > 0");
        assertRefused(Map.of("interpolation", "area"), "nearest, bilinear or bicubic, got area");
        assertRefused(Map.of("mean", "0.1;0.2"), "mean must be numbers separated by commas");
        assertRefused(Map.of("mean", "0.1,0.2"), "one value per channel, got 2 and 1");
        assertRefused(Map.of("inChannels", 2), "takes 2 channels; images give 1 (grey) or 3");
    }

    @Test
    void channelsFollowTheModel() throws Exception {
        // MNIST's single mean and std serve three channels
        try (ZooModel<Image, Classifications> m =
                classifier(MICRO, "PyTorch", Map.of("inChannels", 3))) {
            assertEquals(10, classify(m, randomRgb(40, 30, 3)).getProbabilities().size());
        }
        // ImageNet's three do not serve one, unless given
        MalformedModelException e =
                assertThrows(
                        MalformedModelException.class,
                        () ->
                                classifier(
                                                "deit_tiny_patch16_224",
                                                "PyTorch",
                                                Map.of("inChannels", 1))
                                        .close());
        assertTrue(e.getMessage().contains("give mean and std with 1"), e.getMessage());
        Map<String, Object> args = Map.of("inChannels", 1, "mean", "0.45", "std", "0.22");
        try (ZooModel<Image, Classifications> m =
                classifier("deit_tiny_patch16_224", "PyTorch", args)) {
            assertEquals(1000, classify(m, randomRgb(64, 64, 4)).getProbabilities().size());
        }
    }

    @Test
    void pathsAndFloatArraysWorkToo() throws Exception {
        BufferedImage img = randomRgb(50, 40, 5);
        Path png = tmp.resolve("image.png");
        ImageIO.write(img, "png", png.toFile());
        Map<String, Object> args = Map.of("mean", new float[] {0.2f}, "std", new float[] {0.4f});
        Classifications fromImage;
        try (ZooModel<Image, Classifications> m = classifier(MICRO, "PyTorch", args)) {
            fromImage = classify(m, img);
        }
        Criteria.Builder<Path, Classifications> b =
                Criteria.builder()
                        .setTypes(Path.class, Classifications.class)
                        .optGroupId(VitModelZoo.GROUP_ID)
                        .optArtifactId(MICRO)
                        .optEngine("PyTorch");
        args.forEach(b::optArgument);
        try (ZooModel<Path, Classifications> m = b.build().loadModel();
                Predictor<Path, Classifications> p = m.newPredictor()) {
            assertEquals(fromImage.getProbabilities(), p.predict(png).getProbabilities());
        }
    }

    @Test
    void anUnsupportedPairIsNamed() {
        Criteria<Image, DetectedObjects> criteria =
                Criteria.builder()
                        .setTypes(Image.class, DetectedObjects.class)
                        .optGroupId(VitModelZoo.GROUP_ID)
                        .optArtifactId(MICRO)
                        .optEngine("PyTorch")
                        .build();
        ModelNotFoundException e = assertThrows(ModelNotFoundException.class, criteria::loadModel);
        assertNotNull(e.getCause(), e.getMessage());
        String message = e.getCause().getMessage();
        assertTrue(
                message.startsWith(
                        "vit_micro_patch4_32 supports NDList -> NDList and Image ->"
                                + " Classifications unless a translator is given, got "),
                message);
        assertTrue(message.contains("DetectedObjects"), message);
    }

    private static void assertRefused(Map<String, Object> args, String part) {
        MalformedModelException e =
                assertThrows(
                        MalformedModelException.class,
                        () -> classifier(MICRO, "PyTorch", args).close(),
                        args.toString());
        assertTrue(e.getMessage().contains(part), args + ": " + e.getMessage());
        assertEquals(1, Arrays.asList(e.getMessage().split("\n")).size(), e.getMessage());
    }
}
