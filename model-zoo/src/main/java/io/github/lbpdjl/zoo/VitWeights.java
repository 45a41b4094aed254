package io.github.lbpdjl.zoo;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import io.github.lbpdjl.safetensors.DType;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.safetensors.SafetensorsWriter;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Imports and exports {@link VisionTransformer} weights as safetensors, with timm or Hugging Face
 * ViT tensor names.
 *
 * <p>timm names are the model's own ({@link VisionTransformer#timmParameters()}); a leading {@code
 * module.} is ignored. Hugging Face {@code ViTForImageClassification} / {@code ViTModel} names
 * ({@code vit.embeddings.patch_embeddings.projection.weight}, {@code
 * vit.encoder.layer.0.attention.attention.query.weight}, ..., {@code classifier.weight}) are
 * mapped, the separate query, key and value concatenated into {@code qkv}, and {@code pooler.*}
 * ignored. The naming is detected from the keys. Note that Hugging Face ViT configs usually use
 * LayerNorm epsilon 1e-12 where timm uses 1e-6; build the model with {@code optLayerNormEps} if the
 * difference matters. Position embeddings are not interpolated: a checkpoint for another image size
 * is refused with both shapes named.
 *
 * <p>Every tensor is matched by name and its shape validated before anything is written into the
 * model; missing and extra tensors are errors. A head whose number of classes differs from the
 * model's is not loaded: the model keeps its freshly initialised head and a log line says so. F32,
 * F16, BF16 and F64 tensors are accepted and converted to float32.
 */
public final class VitWeights {

    private static final Logger logger = LoggerFactory.getLogger(VitWeights.class);

    /** Checkpoint naming conventions. */
    public enum Naming {
        /** timm's names, e.g. {@code blocks.0.attn.qkv.weight}. */
        TIMM,
        /** Hugging Face transformers' ViT names. */
        HUGGING_FACE
    }

    /** What a load did. */
    public static final class Result {
        private final Naming naming;
        private final int loaded;
        private final List<String> reinitialised;

        Result(Naming naming, int loaded, List<String> reinitialised) {
            this.naming = naming;
            this.loaded = loaded;
            this.reinitialised = Collections.unmodifiableList(reinitialised);
        }

        /**
         * @return the naming detected in the checkpoint
         */
        public Naming getNaming() {
            return naming;
        }

        /**
         * @return how many model parameters were set from the checkpoint
         */
        public int getLoaded() {
            return loaded;
        }

        /**
         * @return the model parameters kept freshly initialised (a head of another size)
         */
        public List<String> getReinitialised() {
            return reinitialised;
        }
    }

    private VitWeights() {}

    /**
     * Loads a safetensors checkpoint into an initialised model.
     *
     * @param vit the model, initialised
     * @param file the checkpoint
     * @return what was loaded
     * @throws IOException if the file is missing, unreadable or malformed
     * @throws IllegalArgumentException on missing or extra tensors or a wrong shape, naming them
     */
    public static Result load(VisionTransformer vit, Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return load(vit, f);
        }
    }

    /**
     * Loads an open safetensors checkpoint into an initialised model.
     *
     * @param vit the model, initialised
     * @param file the checkpoint
     * @return what was loaded
     * @throws IOException if reading fails
     * @throws IllegalArgumentException on missing or extra tensors or a wrong shape, naming them
     */
    public static Result load(VisionTransformer vit, SafetensorsFile file) throws IOException {
        String src = file.getSource();
        Naming naming = detectNaming(file.keys());
        // timm name -> checkpoint keys (three for an HF qkv, in q, k, v order)
        Map<String, List<String>> sources = new LinkedHashMap<>();
        List<String> extra = new ArrayList<>();
        for (String key : file.keys()) {
            String timm =
                    naming == Naming.TIMM
                            ? CheckpointNames.fromTimm(key)
                            : CheckpointNames.fromHuggingFace(key);
            if (timm == null) {
                extra.add(key);
                continue;
            }
            if (timm.isEmpty()) {
                logger.info("{}: ignoring '{}' (not part of a VisionTransformer)", src, key);
                continue;
            }
            List<String> list = sources.computeIfAbsent(timm, k -> new ArrayList<>());
            int role = CheckpointNames.qkvRole(key);
            if (role < 0) {
                list.add(key);
            } else {
                while (list.size() < 3) {
                    list.add(null);
                }
                list.set(role, key);
            }
        }
        for (Map.Entry<String, List<String>> e : sources.entrySet()) {
            if (e.getValue().contains(null)) {
                throw new IllegalArgumentException(
                        src
                                + ": '"
                                + e.getKey()
                                + "' needs query, key and value tensors, found only "
                                + e.getValue().stream().filter(x -> x != null).toList());
            }
        }
        Map<String, Parameter> params = vit.timmParameters();
        for (String name : sources.keySet()) {
            if (!params.containsKey(name)) {
                extra.addAll(sources.get(name));
            }
        }
        if (!extra.isEmpty()) {
            throw new IllegalArgumentException(
                    src + ": unexpected tensor(s) for " + describe(vit) + ": " + extra);
        }
        List<String> missing = new ArrayList<>();
        for (String name : params.keySet()) {
            if (!sources.containsKey(name)) {
                missing.add(name);
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(
                    src + ": missing tensor(s) for " + describe(vit) + ": " + missing);
        }

        List<String> reinit = new ArrayList<>();
        // validate every shape before writing anything
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            String name = e.getKey();
            Shape want = e.getValue().getArray().getShape();
            List<String> keys = sources.get(name);
            long[] got = checkedShape(file, name, keys, want);
            if (!Arrays.equals(got, want.getShape())) {
                if (name.startsWith("head.") && got.length == want.dimension() && got.length >= 1) {
                    reinit.add(name);
                    continue;
                }
                throw new IllegalArgumentException(
                        src
                                + ": tensor "
                                + keys
                                + " for '"
                                + name
                                + "' has shape "
                                + Arrays.toString(got)
                                + " but the model needs "
                                + want);
            }
            for (String k : keys) {
                DType dt = file.getDType(k);
                if (!dt.isFloating()) {
                    throw new IllegalArgumentException(
                            src + ": tensor '" + k + "' has dtype " + dt + ", need a float type");
                }
            }
        }
        if (!reinit.isEmpty()) {
            if (reinit.size() != 2 && params.containsKey("head.bias")) {
                throw new IllegalArgumentException(
                        src + ": head weight and bias disagree with the model: " + reinit);
            }
            logger.info(
                    "{}: checkpoint head has {} classes, the model {}: head not loaded, kept"
                            + " freshly initialised",
                    src,
                    file.getShape(sources.get("head.weight").get(0))[0],
                    vit.getNumClasses());
        }
        int loaded = 0;
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            if (reinit.contains(e.getKey())) {
                continue;
            }
            List<String> keys = sources.get(e.getKey());
            float[] values;
            if (keys.size() == 1) {
                values = file.get(keys.get(0)).toFloatArray();
            } else {
                List<float[]> parts = new ArrayList<>();
                int total = 0;
                for (String k : keys) {
                    float[] p = file.get(k).toFloatArray();
                    parts.add(p);
                    total += p.length;
                }
                values = new float[total];
                int pos = 0;
                for (float[] p : parts) {
                    System.arraycopy(p, 0, values, pos, p.length);
                    pos += p.length;
                }
            }
            assign(e.getValue().getArray(), values);
            loaded++;
        }
        return new Result(naming, loaded, reinit);
    }

    /**
     * Overwrites an array's values in place (the same NDArray object, so optimizer state and
     * parameter references stay valid). Falls back to a copy from a new array where an engine
     * refuses a direct write (MXNet arrays in MKL-DNN layout after a forward pass).
     *
     * @param target the array to overwrite, float32
     * @param values the new values, row-major, as many as the array has elements
     */
    public static void assign(NDArray target, float[] values) {
        if (values.length != target.size()) {
            throw new IllegalArgumentException(
                    "need "
                            + target.size()
                            + " values for "
                            + target.getShape()
                            + ", got "
                            + values.length);
        }
        try {
            target.set(values);
        } catch (EngineException e) {
            try (NDArray src = target.getManager().create(values, target.getShape())) {
                src.copyTo(target);
            }
        }
    }

    private static String describe(VisionTransformer vit) {
        return "VisionTransformer(dim "
                + vit.getEmbedDim()
                + ", depth "
                + vit.getDepth()
                + ", "
                + vit.getNumClasses()
                + " classes)";
    }

    private static long[] checkedShape(
            SafetensorsFile file, String name, List<String> keys, Shape want) {
        if (keys.size() == 1) {
            return file.getShape(keys.get(0));
        }
        // HF q, k, v: three tensors concatenated along axis 0
        if (keys.size() != 3) {
            throw new IllegalArgumentException(
                    file.getSource() + ": tensors " + keys + " all map to '" + name + "'");
        }
        long[] first = file.getShape(keys.get(0));
        for (String k : keys) {
            long[] s = file.getShape(k);
            if (!Arrays.equals(s, first)) {
                throw new IllegalArgumentException(
                        file.getSource()
                                + ": query/key/value shapes differ for '"
                                + name
                                + "': "
                                + k
                                + " is "
                                + Arrays.toString(s)
                                + ", "
                                + keys.get(0)
                                + " is "
                                + Arrays.toString(first));
            }
        }
        if (first.length == 0) {
            return first;
        }
        long[] cat = first.clone();
        cat[0] *= 3;
        return cat;
    }

    /**
     * Detects the naming of a checkpoint from its keys.
     *
     * @param keys the tensor names
     * @return HUGGING_FACE if any key looks like a Hugging Face ViT name, else TIMM
     */
    public static Naming detectNaming(Iterable<String> keys) {
        return CheckpointNames.isHuggingFace(keys) ? Naming.HUGGING_FACE : Naming.TIMM;
    }

    /**
     * Saves a model's weights with timm names.
     *
     * @param vit the model, initialised
     * @param file the target (written atomically)
     * @param dtype F32, F16, BF16 or F64
     * @param metadata extra {@code __metadata__} entries, or null
     * @throws IOException if writing fails
     */
    public static void save(
            VisionTransformer vit, Path file, DType dtype, Map<String, String> metadata)
            throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        if (metadata != null) {
            meta.putAll(metadata);
        }
        SafetensorsWriter.writeParameters(file, vit.timmParameters(), dtype, meta);
    }
}
