package io.github.lbpdjl.zoo;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import io.github.lbpdjl.safetensors.DType;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads a safetensors checkpoint into a zoo model's parameters, whatever the family: each tensor is
 * matched by name, its shape and type validated before anything is written, missing and extra
 * tensors are errors, a classifier of another number of classes is left freshly initialised, and
 * float types are converted to float32.
 */
final class CheckpointImport {

    private static final Logger logger = LoggerFactory.getLogger(CheckpointImport.class);

    /** How the checkpoint's keys map to the model's parameter names. */
    interface Names {
        /**
         * Maps a checkpoint key.
         *
         * @param key the checkpoint key
         * @return the model's parameter name, "" for a key the model has no use for by design, null
         *     for an unknown key
         */
        String target(String key);

        /**
         * Tells where a key goes when several checkpoint tensors are concatenated along axis 0 into
         * one parameter (a Hugging Face query, key and value into timm's qkv).
         *
         * @param key the checkpoint key
         * @return its position among {@link #partCount()} parts, or -1 if it alone is the parameter
         */
        default int part(String key) {
            return -1;
        }

        /**
         * @return the number of parts of a concatenated parameter
         */
        default int partCount() {
            return 1;
        }

        /**
         * @return what the parts are, for messages
         */
        default String partNames() {
            return "all parts";
        }

        /**
         * Resamples a tensor whose shape differs from the parameter's (a ViT's position embeddings
         * for another image size).
         *
         * @param name the model's parameter name
         * @param got the checkpoint tensor's shape
         * @param want the parameter's shape
         * @return a function from the checkpoint's values to the parameter's, or null if this
         *     tensor is not resampled
         */
        default UnaryOperator<float[]> resampler(String name, long[] got, Shape want) {
            return null;
        }
    }

    private CheckpointImport() {}

    /**
     * Loads a checkpoint.
     *
     * @param file the open checkpoint
     * @param params the model's parameters by name, initialised
     * @param names the key mapping
     * @param isHead tells the classifier parameters, which are kept if their shapes differ
     * @param model the model, described for messages
     * @return what was done
     * @throws IOException if reading fails
     * @throws IllegalArgumentException on missing or extra tensors or a wrong shape or type
     */
    static ImportResult load(
            SafetensorsFile file,
            Map<String, Parameter> params,
            Names names,
            Predicate<String> isHead,
            String model)
            throws IOException {
        String src = file.getSource();
        // parameter name -> checkpoint keys (several for a concatenated parameter, in order)
        Map<String, List<String>> sources = new LinkedHashMap<>();
        List<String> extra = new ArrayList<>();
        List<String> ignored = new ArrayList<>();
        for (String key : file.keys()) {
            String name = names.target(key);
            if (name == null) {
                extra.add(key);
                continue;
            }
            if (name.isEmpty()) {
                ignored.add(key);
                continue;
            }
            List<String> list = sources.computeIfAbsent(name, k -> new ArrayList<>());
            int part = names.part(key);
            if (part < 0) {
                list.add(key);
            } else {
                while (list.size() < names.partCount()) {
                    list.add(null);
                }
                list.set(part, key);
            }
        }
        for (Map.Entry<String, List<String>> e : sources.entrySet()) {
            if (e.getValue().contains(null)) {
                throw new IllegalArgumentException(
                        src
                                + ": '"
                                + e.getKey()
                                + "' needs "
                                + names.partNames()
                                + ", found only "
                                + e.getValue().stream().filter(Objects::nonNull).toList());
            }
        }
        for (String name : sources.keySet()) {
            if (!params.containsKey(name)) {
                extra.addAll(sources.get(name));
            }
        }
        if (!extra.isEmpty()) {
            throw new IllegalArgumentException(
                    src + ": unexpected tensor(s) for " + model + ": " + some(extra));
        }
        List<String> missing = new ArrayList<>();
        List<String> missingHeads = new ArrayList<>();
        for (String name : params.keySet()) {
            if (!sources.containsKey(name)) {
                (isHead.test(name) ? missingHeads : missing).add(name);
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(
                    src + ": missing tensor(s) for " + model + ": " + some(missing));
        }

        // validate every shape and type before writing anything
        List<String> reinit = new ArrayList<>();
        List<String> heads = new ArrayList<>();
        Map<String, UnaryOperator<float[]>> resample = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            String name = e.getKey();
            if (missingHeads.contains(name)) {
                continue;
            }
            Shape want = e.getValue().getArray().getShape();
            List<String> keys = sources.get(name);
            long[] got = shape(file, name, keys);
            if (isHead.test(name)) {
                heads.add(name);
            }
            if (!Arrays.equals(got, want.getShape())) {
                UnaryOperator<float[]> r = names.resampler(name, got, want);
                if (r != null) {
                    resample.put(name, r);
                    continue;
                }
                if (isHead.test(name) && got.length == want.dimension() && got.length >= 1) {
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
            if (!reinit.equals(heads)) {
                throw new IllegalArgumentException(
                        src
                                + ": the classifier's tensors disagree with the model in part"
                                + " only: "
                                + reinit
                                + " of "
                                + heads);
            }
            logger.info(
                    "{}: checkpoint classifier has {} classes, the model {}: {} not loaded, kept"
                            + " freshly initialised",
                    src,
                    file.getShape(sources.get(heads.get(0)).get(0))[0],
                    params.get(heads.get(0)).getArray().getShape().get(0),
                    heads);
        }
        if (!missingHeads.isEmpty()) {
            logger.info(
                    "{}: the checkpoint has no {} (headless): freshly initialised",
                    src,
                    missingHeads);
        }
        if (!ignored.isEmpty()) {
            logger.debug("{}: ignored for {}: {}", src, model, ignored);
        }
        int loaded = 0;
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            if (reinit.contains(e.getKey()) || missingHeads.contains(e.getKey())) {
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
            UnaryOperator<float[]> r = resample.get(e.getKey());
            if (r != null) {
                values = r.apply(values);
            }
            assign(e.getValue().getArray(), values);
            loaded++;
        }
        List<String> fresh = new ArrayList<>(reinit);
        fresh.addAll(missingHeads);
        return new ImportResult(loaded, fresh, ignored, new ArrayList<>(resample.keySet()));
    }

    /** A list for a one-line message: all of it, or its first ten and how many in all. */
    private static String some(List<String> names) {
        if (names.size() <= 12) {
            return names.toString();
        }
        return names.subList(0, 10)
                + " and "
                + (names.size() - 10)
                + " more ("
                + names.size()
                + " in all)";
    }

    /**
     * Overwrites an array's values in place (the same NDArray object, so optimizer state and
     * parameter references stay valid); copies from a new array where an engine refuses a direct
     * write (MXNet arrays in MKL-DNN layout after a forward pass).
     */
    static void assign(NDArray target, float[] values) {
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

    /** The shape of a parameter's tensors, concatenated along axis 0 if several. */
    private static long[] shape(SafetensorsFile file, String name, List<String> keys) {
        if (keys.size() == 1) {
            return file.getShape(keys.get(0));
        }
        long[] first = file.getShape(keys.get(0));
        for (String k : keys) {
            long[] s = file.getShape(k);
            if (!Arrays.equals(s, first)) {
                throw new IllegalArgumentException(
                        file.getSource()
                                + ": the parts of '"
                                + name
                                + "' differ in shape: "
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
        cat[0] *= keys.size();
        return cat;
    }
}
