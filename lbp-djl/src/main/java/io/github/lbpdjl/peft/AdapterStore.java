package io.github.lbpdjl.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.github.lbpdjl.io.AtomicFiles;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.safetensors.DType;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.safetensors.SafetensorsWriter;
import io.github.lbpdjl.safetensors.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The adapters of one {@link LoraModel}, behind its saveAdapter, loadAdapter, addAdapter and
 * setActiveAdapter: the active adapter's weights live in the LoRA layers' lora_A and lora_B and in
 * the modules to save; the other named adapters are kept here as float arrays by PEFT key ({@code
 * base_model.model.<path>.lora_A.weight}, {@code ...lora_B.weight}, {@code
 * base_model.model.<path>.<param>} for the modules to save). Reads and writes the adapter folder
 * (adapter_model.safetensors and adapter_config.json). Not thread-safe.
 */
final class AdapterStore {

    private static final String PREFIX = "base_model.model.";
    private static final long MAX_CONFIG_BYTES = 16L << 20;

    private final LoraConfig config;
    private final Map<String, LoraLinear> layers;
    private final Map<String, LoraConv2d> convs;
    private final Map<String, Block> modulesToSave;
    private final Map<String, Map<String, float[]>> stored = new LinkedHashMap<>();
    private String active = "default";

    AdapterStore(
            LoraConfig config,
            Map<String, LoraLinear> layers,
            Map<String, LoraConv2d> convs,
            Map<String, Block> modulesToSave) {
        this.config = config;
        this.layers = layers;
        this.convs = convs;
        this.modulesToSave = modulesToSave;
    }

    /** See {@link LoraModel#saveAdapter(Path)}. */
    void save(Path dir) throws IOException {
        Map<String, Tensor> tensors = new TreeMap<>();
        for (Map.Entry<String, Parameter> e : adapterParameters().entrySet()) {
            Parameter p = e.getValue();
            if (!p.isInitialized()) {
                throw new IllegalStateException(
                        "adapter parameter " + e.getKey() + " is not initialised");
            }
            NDArray a = p.getArray();
            tensors.put(
                    e.getKey(),
                    Tensor.fromFloats(a.toFloatArray(), a.getShape().getShape(), DType.F32));
        }
        checkNotMerged("saving the adapter");
        SafetensorsWriter.write(
                dir.resolve(LoraModel.WEIGHTS_FILE), tensors, Map.of("format", "pt"));
        AtomicFiles.writeString(dir.resolve(LoraModel.CONFIG_FILE), savedConfig().toJson());
    }

    /**
     * The configuration as saved: "all-linear" expanded to the paths of the layers it adapted, as
     * PEFT saves it (PEFT leaves out an output layer only on transformers models, so the same
     * shorthand would take a timm model's head there).
     */
    private LoraConfig savedConfig() {
        if (!config.getTargets().isAllLinear() || layers.isEmpty()) {
            return config;
        }
        String[] paths = layers.keySet().toArray(new String[0]);
        return config.toBuilder().optTargets(TargetModules.names(paths)).build();
    }

    /** See {@link LoraModel#loadAdapter(Path, String)}. */
    void load(Path dir, String adapterName) throws IOException {
        Path cfg = dir.resolve(LoraModel.CONFIG_FILE);
        if (Files.exists(cfg)) {
            LoraConfig saved = readConfig(cfg);
            Map<String, float[]> mine = new LinkedHashMap<>();
            layers.forEach((k, l) -> mine.put(k, new float[] {l.getRank(), l.getScaling()}));
            convs.forEach((k, c) -> mine.put(k, new float[] {c.getRank(), c.getScaling()}));
            for (Map.Entry<String, float[]> e : mine.entrySet()) {
                float r = saved.getRank(e.getKey());
                float s = saved.getScaling(e.getKey());
                if (r != e.getValue()[0] || s != e.getValue()[1]) {
                    throw new IllegalArgumentException(
                            cfg
                                    + ": the adapter gives layer "
                                    + e.getKey()
                                    + " r="
                                    + (int) r
                                    + ", scaling "
                                    + s
                                    + "; this model's layer has r="
                                    + (int) e.getValue()[0]
                                    + ", scaling "
                                    + e.getValue()[1]);
                }
            }
        }
        Map<String, float[]> values = readWeights(dir.resolve(LoraModel.WEIGHTS_FILE));
        if (adapterName.equals(active)) {
            checkNotMerged("loading an adapter");
            setLive(values);
        } else {
            stored.put(adapterName, values);
        }
    }

    /**
     * Reads adapter_model.safetensors, checking that its keys and shapes are exactly this model's.
     */
    private Map<String, float[]> readWeights(Path file) throws IOException {
        Map<String, Parameter> params = adapterParameters();
        List<String> uninitialised = new ArrayList<>();
        params.forEach(
                (k, p) -> {
                    if (!p.isInitialized()) {
                        uninitialised.add(k);
                    }
                });
        if (!uninitialised.isEmpty()) {
            throw new IllegalArgumentException(
                    "cannot load "
                            + file
                            + " into a model that is not initialised (initialise it first, e.g."
                            + " model.getBlock().initialize(...) or trainer.initialize(...));"
                            + " not initialised: "
                            + uninitialised);
        }
        Map<String, float[]> values = new LinkedHashMap<>();
        try (SafetensorsFile tensors = SafetensorsFile.open(file)) {
            List<String> problems = new ArrayList<>();
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                long[] need = e.getValue().getArray().getShape().getShape();
                if (!tensors.contains(e.getKey())) {
                    problems.add("missing " + e.getKey() + " " + Arrays.toString(need));
                } else if (!Arrays.equals(tensors.getShape(e.getKey()), need)) {
                    problems.add(
                            e.getKey()
                                    + " has shape "
                                    + Arrays.toString(tensors.getShape(e.getKey()))
                                    + ", needs "
                                    + Arrays.toString(need));
                }
            }
            for (String k : tensors.keys()) {
                if (!params.containsKey(k)) {
                    problems.add("unexpected " + k + " " + Arrays.toString(tensors.getShape(k)));
                }
            }
            if (!problems.isEmpty()) {
                throw new IllegalArgumentException(
                        file + " does not fit this model: " + String.join("; ", problems));
            }
            for (String k : params.keySet()) {
                values.put(k, tensors.get(k).toFloatArray());
            }
        }
        return values;
    }

    /** Reads adapter_config.json; a malformed one is an IOException naming the file. */
    static LoraConfig readConfig(Path cfg) throws IOException {
        long size = Files.size(cfg);
        if (size > MAX_CONFIG_BYTES) {
            throw new IOException(
                    cfg
                            + ": adapter config of "
                            + size
                            + " bytes is larger than the "
                            + MAX_CONFIG_BYTES
                            + " accepted");
        }
        try {
            return LoraConfig.fromJson(Files.readString(cfg, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new IOException(cfg + ": " + e.getMessage(), e);
        }
    }

    /** See {@link LoraModel#addAdapter(String)}. */
    void add(String adapterName) {
        if (names().contains(adapterName)) {
            throw new IllegalArgumentException(
                    "adapter '" + adapterName + "' exists already: " + names());
        }
        checkNotMerged("adding an adapter");
        stored.put(active, snapshot());
        List<Parameter[]> pairs = new ArrayList<>();
        layers.values().forEach(l -> pairs.add(new Parameter[] {l.getLoraA(), l.getLoraB()}));
        convs.values().forEach(c -> pairs.add(new Parameter[] {c.getLoraA(), c.getLoraB()}));
        for (Parameter[] pair : pairs) {
            NDArray a = pair[0].getArray();
            NDArray fresh =
                    new KaimingUniformSqrt5()
                            .initialize(a.getManager(), a.getShape(), a.getDataType());
            a.set(fresh.toFloatArray());
            fresh.close();
            NDArray b = pair[1].getArray();
            b.set(new float[(int) b.size()]);
        }
        active = adapterName;
    }

    /** See {@link LoraModel#setActiveAdapter(String)}. */
    void setActive(String adapterName) {
        if (adapterName.equals(active)) {
            return;
        }
        Map<String, float[]> next = stored.get(adapterName);
        if (next == null) {
            throw new IllegalArgumentException(
                    "no adapter '" + adapterName + "'; the adapters are " + names());
        }
        checkNotMerged("switching adapters");
        stored.put(active, snapshot());
        setLive(next);
        stored.remove(adapterName);
        active = adapterName;
    }

    /** The active adapter's name. */
    String active() {
        return active;
    }

    /** The names of all adapters, the active one included, sorted. */
    Set<String> names() {
        Set<String> names = new TreeSet<>(stored.keySet());
        names.add(active);
        return names;
    }

    private Map<String, float[]> snapshot() {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : adapterParameters().entrySet()) {
            out.put(e.getKey(), e.getValue().getArray().toFloatArray());
        }
        return out;
    }

    private void setLive(Map<String, float[]> values) {
        for (Map.Entry<String, Parameter> e : adapterParameters().entrySet()) {
            e.getValue().getArray().set(values.get(e.getKey()));
        }
    }

    private void checkNotMerged(String what) {
        for (LoraLinear l : layers.values()) {
            if (l.isMerged()) {
                throw new IllegalStateException(l + " is merged: unmerge() before " + what);
            }
        }
        for (LoraConv2d c : convs.values()) {
            if (c.isMerged()) {
                throw new IllegalStateException(c + " is merged: unmerge() before " + what);
            }
        }
    }

    /** The adapter's tensors by PEFT key. */
    private Map<String, Parameter> adapterParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (Map.Entry<String, LoraLinear> e : layers.entrySet()) {
            out.put(PREFIX + e.getKey() + ".lora_A.weight", e.getValue().getLoraA());
            out.put(PREFIX + e.getKey() + ".lora_B.weight", e.getValue().getLoraB());
        }
        for (Map.Entry<String, LoraConv2d> e : convs.entrySet()) {
            out.put(PREFIX + e.getKey() + ".lora_A.weight", e.getValue().getLoraA());
            out.put(PREFIX + e.getKey() + ".lora_B.weight", e.getValue().getLoraB());
        }
        for (Map.Entry<String, Block> e : modulesToSave.entrySet()) {
            for (BlockTree.Node n : BlockTree.walk(e.getValue())) {
                String base =
                        PREFIX + e.getKey() + (n.getPath().isEmpty() ? "" : "." + n.getPath());
                for (Pair<String, Parameter> p : n.getBlock().getDirectParameters()) {
                    out.put(base + "." + BlockTree.torchName(p.getKey()), p.getValue());
                }
            }
        }
        return out;
    }
}
