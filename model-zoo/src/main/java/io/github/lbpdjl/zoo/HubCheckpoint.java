package io.github.lbpdjl.zoo;

import ai.djl.modality.cv.Image;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.lbpdjl.internal.JsonInput;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the {@code weights} argument points at: a weights file, or a checkpoint folder as the
 * Hugging Face Hub holds it, one {@code *.safetensors} file (preferably {@code model.safetensors})
 * beside a {@code config.json} in timm's hub format ({@code architecture}, {@code num_classes},
 * {@code model_args}, {@code label_names}, {@code pretrained_cfg}) or in transformers' ({@code
 * model_type}, {@code image_size}, {@code hidden_size}, ..., {@code id2label}; with an optional
 * {@code preprocessor_config.json}). For a safetensors file, its tensor shapes by name.
 */
final class HubCheckpoint {

    /** The formats of {@code config.json}. */
    enum Format {
        /** No config.json: a bare weights file. */
        NONE,
        /** timm's hub config. */
        TIMM,
        /** Hugging Face transformers' config. */
        TRANSFORMERS
    }

    static final String CONFIG = "config.json";
    private static final long MAX_CONFIG_BYTES = 64L << 20;

    private final Path weights;
    private final Format format;
    private final JsonObject config;
    private final JsonObject preprocessor;
    private final Map<String, long[]> shapes;

    private HubCheckpoint(
            Path weights,
            Format format,
            JsonObject config,
            JsonObject preprocessor,
            Map<String, long[]> shapes) {
        this.weights = weights;
        this.format = format;
        this.config = config;
        this.preprocessor = preprocessor;
        this.shapes = shapes;
    }

    /**
     * Resolves a weights file or checkpoint folder.
     *
     * @param path the file or folder
     * @return the checkpoint
     * @throws IOException if it is missing or unreadable
     * @throws IllegalArgumentException if a folder has no single weights file or a bad config
     */
    static HubCheckpoint resolve(Path path) throws IOException {
        Path file = path;
        JsonObject config = null;
        JsonObject preprocessor = null;
        Format format = Format.NONE;
        if (Files.isDirectory(path)) {
            file = weightsIn(path);
            Path cfg = path.resolve(CONFIG);
            if (Files.isRegularFile(cfg)) {
                config = readJson(cfg);
                format =
                        config.has("model_type") || config.has("hidden_size")
                                ? Format.TRANSFORMERS
                                : Format.TIMM;
            }
            Path pre = path.resolve("preprocessor_config.json");
            if (Files.isRegularFile(pre)) {
                preprocessor = readJson(pre);
            }
        } else if (!Files.isRegularFile(path)) {
            throw new IOException("weights file not found: " + path.toAbsolutePath());
        }
        Map<String, long[]> shapes = null;
        if (file.getFileName().toString().endsWith(".safetensors")) {
            shapes = new LinkedHashMap<>();
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                for (String k : f.keys()) {
                    shapes.put(k, f.getShape(k));
                }
            }
        }
        return new HubCheckpoint(
                file,
                format,
                config,
                preprocessor,
                shapes == null ? null : Collections.unmodifiableMap(shapes));
    }

    private static Path weightsIn(Path dir) throws IOException {
        Path model = dir.resolve("model.safetensors");
        if (Files.isRegularFile(model)) {
            return model;
        }
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "*.{safetensors,params}")) {
            for (Path p : s) {
                String n = p.getFileName().toString();
                if (!n.startsWith("adapter_model")) {
                    found.add(p);
                }
            }
        }
        if (found.size() != 1) {
            Collections.sort(found);
            throw new IllegalArgumentException(
                    "weights folder "
                            + dir
                            + " needs model.safetensors or exactly one *.safetensors or *.params"
                            + " file, found "
                            + found);
        }
        return found.get(0);
    }

    private static JsonObject readJson(Path file) throws IOException {
        if (Files.size(file) > MAX_CONFIG_BYTES) {
            throw new IllegalArgumentException(file + " is over " + MAX_CONFIG_BYTES + " bytes");
        }
        JsonElement e;
        try {
            e = JsonInput.parse(Files.readString(file, StandardCharsets.UTF_8));
        } catch (RuntimeException ex) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + ex.getMessage(), ex);
        }
        if (!e.isJsonObject()) {
            throw new IllegalArgumentException(file + " is not a JSON object");
        }
        return e.getAsJsonObject();
    }

    /**
     * @return the weights file (safetensors or DJL .params)
     */
    Path getWeights() {
        return weights;
    }

    /**
     * @return the config's format
     */
    Format getFormat() {
        return format;
    }

    /**
     * @return config.json, or null
     */
    JsonObject getConfig() {
        return config;
    }

    /**
     * @return the tensor shapes by checkpoint name, or null for a .params file
     */
    Map<String, long[]> getShapes() {
        return shapes;
    }

    /** timm's {@code pretrained_cfg}, or an empty object. */
    JsonObject pretrainedCfg() {
        if (format == Format.TIMM && config.has("pretrained_cfg")) {
            JsonElement e = config.get("pretrained_cfg");
            if (e.isJsonObject()) {
                return e.getAsJsonObject();
            }
        }
        return new JsonObject();
    }

    /** timm's {@code model_args}, or an empty object. */
    JsonObject modelArgs() {
        if (format == Format.TIMM && config.has("model_args")) {
            JsonElement e = config.get("model_args");
            if (e.isJsonObject()) {
                return e.getAsJsonObject();
            }
        }
        return new JsonObject();
    }

    /**
     * The class names the config states: timm's {@code label_names} (a list, or a map from index to
     * name; at the root or in {@code pretrained_cfg}) or transformers' {@code id2label}.
     *
     * @return the names in class order, or null if none
     */
    List<String> labelNames() {
        if (config == null) {
            return null;
        }
        JsonElement e =
                format == Format.TIMM
                        ? (config.has("label_names")
                                ? config.get("label_names")
                                : pretrainedCfg().get("label_names"))
                        : config.get("id2label");
        if (e == null || e.isJsonNull()) {
            return null;
        }
        List<String> names = new ArrayList<>();
        if (e.isJsonArray()) {
            for (JsonElement n : e.getAsJsonArray()) {
                names.add(n.getAsString());
            }
            return names;
        }
        if (!e.isJsonObject()) {
            throw new IllegalArgumentException(CONFIG + ": label names must be a list or a map");
        }
        TreeMap<Integer, String> byIndex = new TreeMap<>();
        for (Map.Entry<String, JsonElement> en : e.getAsJsonObject().entrySet()) {
            try {
                byIndex.put(Integer.parseInt(en.getKey().strip()), en.getValue().getAsString());
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException(
                        CONFIG + ": label index '" + en.getKey() + "' is not an integer", ex);
            }
        }
        int i = 0;
        for (Map.Entry<Integer, String> en : byIndex.entrySet()) {
            if (en.getKey() != i++) {
                throw new IllegalArgumentException(
                        CONFIG + ": label indices must be 0 to n - 1, missing " + (i - 1));
            }
            names.add(en.getValue());
        }
        return names;
    }

    /**
     * The images the checkpoint takes: timm's {@code pretrained_cfg} (input_size, interpolation,
     * crop_pct, mean, std) or transformers' {@code image_size}, {@code num_channels} and {@code
     * preprocessor_config.json} ({@code image_mean}, {@code image_std}, {@code resample}; its
     * resize is to the square size, taken here as crop_pct 1), over the model's defaults.
     *
     * @param defaults the artifact's preprocessing
     * @return the preprocessing
     */
    Preprocessing preprocessing(Preprocessing defaults) {
        Preprocessing.Builder b = defaults.toBuilder();
        if (format == Format.TIMM) {
            JsonObject cfg = pretrainedCfg();
            if (cfg.has("input_size")) {
                JsonArray size = cfg.getAsJsonArray("input_size");
                if (size.size() != 3 || size.get(1).getAsInt() != size.get(2).getAsInt()) {
                    throw new IllegalArgumentException(
                            CONFIG + ": pretrained_cfg.input_size must be [C, S, S], got " + size);
                }
                b.setImageSize(size.get(1).getAsInt());
            }
            if (cfg.has("interpolation")) {
                b.optInterpolation(interpolation(cfg.get("interpolation").getAsString()));
            }
            if (cfg.has("crop_pct")) {
                b.optCropPct(cfg.get("crop_pct").getAsDouble());
            }
            if (cfg.has("mean")) {
                b.optMean(floats(cfg.get("mean")));
            }
            if (cfg.has("std")) {
                b.optStd(floats(cfg.get("std")));
            }
        } else if (format == Format.TRANSFORMERS) {
            if (config.has("image_size")) {
                b.setImageSize(config.get("image_size").getAsInt());
            }
            b.optCropPct(1.0);
            b.optInterpolation(Image.Interpolation.BILINEAR);
            b.optMean(0.5f, 0.5f, 0.5f).optStd(0.5f, 0.5f, 0.5f);
            if (preprocessor != null) {
                if (preprocessor.has("image_mean")) {
                    b.optMean(floats(preprocessor.get("image_mean")));
                }
                if (preprocessor.has("image_std")) {
                    b.optStd(floats(preprocessor.get("image_std")));
                }
                if (preprocessor.has("resample")) {
                    // PIL's codes: 0 nearest, 2 bilinear, 3 bicubic
                    int r = preprocessor.get("resample").getAsInt();
                    b.optInterpolation(
                            r == 0
                                    ? Image.Interpolation.NEAREST
                                    : r == 3
                                            ? Image.Interpolation.BICUBIC
                                            : Image.Interpolation.BILINEAR);
                }
            }
        }
        return b.build();
    }

    private static Image.Interpolation interpolation(String name) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "bicubic":
                return Image.Interpolation.BICUBIC;
            case "bilinear":
                return Image.Interpolation.BILINEAR;
            case "nearest":
                return Image.Interpolation.NEAREST;
            default:
                throw new IllegalArgumentException(
                        CONFIG
                                + ": pretrained_cfg.interpolation '"
                                + name
                                + "' is not supported; bicubic, bilinear and nearest are");
        }
    }

    private static float[] floats(JsonElement e) {
        if (e.isJsonPrimitive()) {
            return new float[] {e.getAsFloat()};
        }
        JsonArray a = e.getAsJsonArray();
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsFloat();
        }
        return out;
    }
}
