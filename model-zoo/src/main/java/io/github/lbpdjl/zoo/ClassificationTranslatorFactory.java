package io.github.lbpdjl.zoo;

import ai.djl.Model;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.transform.ToTensor;
import ai.djl.modality.cv.translator.BaseImageTranslatorFactory;
import ai.djl.modality.cv.translator.ImageClassificationTranslator;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.translate.Translator;
import io.github.lbpdjl.zoo.vit.TimmModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The zoo's {@code Image -> Classifications} translators (and, through DJL's expansions, {@code
 * Path}, {@code URL}, {@code String}, {@code InputStream} and serving {@code Input -> Output}):
 * DJL's {@link ImageClassificationTranslator} with the model's {@link Preprocessing} ({@link
 * ResizeCrop}, DJL's {@link ToTensor} and {@link Normalize}), softmax, and class names from the
 * {@value TimmModelLoader#ARG_SYNSET} or {@value TimmModelLoader#ARG_SYNSET_FILE} argument, else
 * "0" to "n - 1". The image is read as grey for a one-channel model and as RGB otherwise (DJL's
 * {@link Image.Flag}: a grey image's value repeated, a colour one weighted 0.299, 0.587, 0.114).
 */
final class ClassificationTranslatorFactory extends BaseImageTranslatorFactory<Classifications> {

    private final Preprocessing defaults;

    ClassificationTranslatorFactory(Preprocessing defaults) {
        this.defaults = defaults;
    }

    /** {@inheritDoc} */
    @Override
    protected Translator<Image, Classifications> buildBaseTranslator(
            Model model, Map<String, ?> arguments) {
        if (!(model.getBlock() instanceof TimmModel)) {
            throw new IllegalArgumentException(
                    model.getName() + " is not a zoo model: no Image -> Classifications");
        }
        TimmModel block = (TimmModel) model.getBlock();
        int channels = block.getInChannels();
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException(
                    model.getName()
                            + " takes "
                            + channels
                            + " channels; images give 1 (grey) or 3 (RGB)");
        }
        if (block.getNumClasses() < 1) {
            throw new IllegalArgumentException(
                    model.getName() + " has no classifier: no Image -> Classifications");
        }
        Preprocessing given = withArguments(defaults, arguments).withChannels(channels);
        long side = block.getInputShape(1).get(2);
        // a model built for another size (imageSize): crop to it, resize in proportion
        Preprocessing p =
                side != given.getImageSize() && side == block.getInputShape(1).get(3)
                        ? given.toBuilder().setImageSize((int) side).build()
                        : given;
        List<String> classes = classes(arguments, block.getNumClasses(), model.getName());
        return ImageClassificationTranslator.builder()
                .optFlag(channels == 1 ? Image.Flag.GRAYSCALE : Image.Flag.COLOR)
                .setImageSize(p.getImageSize(), p.getImageSize())
                .addTransform(new ResizeCrop(p))
                .addTransform(new ToTensor())
                .addTransform(a -> normalize(a, p.getMean(), p.getStd()))
                .optSynset(classes)
                .optApplySoftmax(true)
                .build();
    }

    /** {@inheritDoc} */
    @Override
    public Class<Classifications> getBaseOutputType() {
        return Classifications.class;
    }

    /** {@code (x - mean) / std} per channel of a {@code (C, H, W)} array. */
    private static NDArray normalize(NDArray chw, float[] mean, float[] std) {
        NDManager manager = chw.getManager();
        Shape shape = new Shape(mean.length, 1, 1);
        try (NDArray m = manager.create(mean, shape);
                NDArray s = manager.create(std, shape)) {
            return chw.sub(m).div(s);
        }
    }

    /** The preprocessing with the Criteria's overrides. */
    static Preprocessing withArguments(Preprocessing p, Map<String, ?> arguments) {
        Preprocessing.Builder b = p.toBuilder();
        String crop = string(arguments, TimmModelLoader.ARG_CROP_PCT);
        if (crop != null) {
            b.optCropPct(number(TimmModelLoader.ARG_CROP_PCT, crop));
        }
        String interpolation = string(arguments, TimmModelLoader.ARG_INTERPOLATION);
        if (interpolation != null) {
            b.optInterpolation(interpolation(interpolation));
        }
        String mean = string(arguments, TimmModelLoader.ARG_MEAN);
        if (mean != null) {
            b.optMean(numbers(TimmModelLoader.ARG_MEAN, mean));
        }
        String std = string(arguments, TimmModelLoader.ARG_STD);
        if (std != null) {
            b.optStd(numbers(TimmModelLoader.ARG_STD, std));
        }
        return b.build();
    }

    /**
     * The class names: from the arguments, else from a synset.txt beside the weights file, checked
     * against the head; else "0" to "n - 1".
     */
    static List<String> classes(Map<String, ?> arguments, int numClasses, String model) {
        Object given = arguments.get(TimmModelLoader.ARG_SYNSET);
        if (given instanceof List) {
            // the class names of a checkpoint folder's config, already checked against the head
            List<String> names = new ArrayList<>();
            for (Object o : (List<?>) given) {
                names.add(String.valueOf(o));
            }
            return names;
        }
        String synset = string(arguments, TimmModelLoader.ARG_SYNSET);
        String file = string(arguments, TimmModelLoader.ARG_SYNSET_FILE);
        String weights = string(arguments, TimmModelLoader.ARG_WEIGHTS);
        if (synset == null && file == null && weights != null) {
            // a model saved with its class names (the adaptation program's --save)
            Path beside = Path.of(weights).toAbsolutePath().resolveSibling("synset.txt");
            if (Files.isRegularFile(beside)) {
                file = beside.toString();
            }
        }
        List<String> names = new ArrayList<>();
        String source;
        if (synset != null && file != null) {
            throw new IllegalArgumentException(
                    "give either "
                            + TimmModelLoader.ARG_SYNSET
                            + " or "
                            + TimmModelLoader.ARG_SYNSET_FILE
                            + ", not both");
        } else if (synset != null) {
            for (String name : synset.split(",", -1)) {
                names.add(name.strip());
            }
            source = TimmModelLoader.ARG_SYNSET;
        } else if (file != null) {
            try {
                for (String line : Files.readAllLines(Path.of(file), StandardCharsets.UTF_8)) {
                    if (!line.isBlank()) {
                        names.add(line.strip());
                    }
                }
            } catch (IOException e) {
                throw new IllegalArgumentException(
                        TimmModelLoader.ARG_SYNSET_FILE + " " + file + " cannot be read: " + e, e);
            }
            source = TimmModelLoader.ARG_SYNSET_FILE + " " + file;
        } else {
            for (int i = 0; i < numClasses; i++) {
                names.add(Integer.toString(i));
            }
            return names;
        }
        if (names.size() != numClasses) {
            throw new IllegalArgumentException(
                    source
                            + " has "
                            + names.size()
                            + " class names but "
                            + model
                            + " has "
                            + numClasses
                            + " classes");
        }
        return names;
    }

    private static Image.Interpolation interpolation(String value) {
        switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "nearest":
                return Image.Interpolation.NEAREST;
            case "bilinear":
                return Image.Interpolation.BILINEAR;
            case "bicubic":
                return Image.Interpolation.BICUBIC;
            default:
                throw new IllegalArgumentException(
                        TimmModelLoader.ARG_INTERPOLATION
                                + " must be nearest, bilinear or bicubic, got "
                                + value);
        }
    }

    private static String string(Map<String, ?> arguments, String key) {
        Object v = arguments.get(key);
        if (v instanceof float[]) {
            return join((float[]) v);
        }
        return v == null ? null : v.toString();
    }

    private static String join(float[] values) {
        StringBuilder sb = new StringBuilder();
        for (float f : values) {
            sb.append(sb.length() == 0 ? "" : ",").append(f);
        }
        return sb.toString();
    }

    private static double number(String key, String value) {
        try {
            return Double.parseDouble(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " must be a number, got " + value, e);
        }
    }

    private static float[] numbers(String key, String value) {
        String[] parts = value.split(",", -1);
        float[] out = new float[parts.length];
        try {
            for (int i = 0; i < parts.length; i++) {
                out[i] = Float.parseFloat(parts[i].strip());
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    key + " must be numbers separated by commas, got " + value, e);
        }
        return out;
    }
}
