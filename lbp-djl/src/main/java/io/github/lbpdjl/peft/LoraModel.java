package io.github.lbpdjl.peft;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.github.lbpdjl.engine.LbpEngines;
import io.github.lbpdjl.io.AtomicFiles;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.rewrite.AdapterInjector;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.RewriteReport;
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
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model with LoRA adapters, as PEFT's LoraModel: created by {@link #apply(Model, LoraConfig)}, it
 * freezes everything but the adapters and the modules to save, reports the trainable parameters,
 * merges and unmerges, and saves and loads only the adapter in PEFT's format
 * (adapter_model.safetensors with keys {@code base_model.model.<path>.lora_A.weight}, {@code
 * ...lora_B.weight}, the modules to save under {@code base_model.model.<path>.<param>} as PEFT
 * writes them, DJL's "gamma"/"beta" named "weight"/"bias"; plus adapter_config.json).
 *
 * <p>Several named adapters, one active (PEFT's add_adapter / load_adapter / set_adapter): the
 * active adapter lives in the LoRA layers' parameters, the others are kept aside as arrays on the
 * Java heap; all share the rank, alpha and targets of the configuration. Not thread-safe.
 */
public final class LoraModel {

    /** The adapter weights file name PEFT uses. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";

    /** The adapter configuration file name PEFT uses. */
    public static final String CONFIG_FILE = "adapter_config.json";

    private static final Logger logger = LoggerFactory.getLogger(LoraModel.class);
    private static final String PREFIX = "base_model.model.";
    private static final long MAX_CONFIG_BYTES = 16L << 20;

    private final Model model;
    private final LoraConfig config;
    private final Map<String, LoraLinear> layers;
    private final Map<String, Block> modulesToSave;
    private final RewriteReport lbpReport;
    private final Map<String, Map<String, float[]>> stored = new LinkedHashMap<>();
    private String active = "default";

    private LoraModel(
            Model model,
            LoraConfig config,
            Map<String, LoraLinear> layers,
            Map<String, Block> modulesToSave,
            RewriteReport lbpReport) {
        this.model = model;
        this.config = config;
        this.layers = Collections.unmodifiableMap(layers);
        this.modulesToSave = Collections.unmodifiableMap(modulesToSave);
        this.lbpReport = lbpReport;
    }

    /**
     * Adapts a model: replaces the target Linear layers by {@link LoraLinear} (sharing the base
     * Parameter objects), freezes every parameter except lora_A, lora_B and those of the modules to
     * save, then applies the configuration's LBP rewriter (if any) to the remaining Linear layers.
     * Nothing is changed if a check fails.
     *
     * @param model the model; its block must not itself be a target Linear
     * @param config the configuration
     * @return the handle
     * @throws IllegalArgumentException if a target pattern or a modules_to_save name matches no
     *     module (unless allowed), listing the modules there are
     */
    public static LoraModel apply(Model model, LoraConfig config) {
        Block root = model.getBlock();
        Map<String, Block> save = modulesToSave(root, config);
        Map<String, LoraLinear> layers = new LinkedHashMap<>();
        AdapterInjector injector =
                new AdapterInjector(
                        "LoRA",
                        config.getTargets(),
                        config.getExclude(),
                        save.keySet(),
                        config.isAllowUnmatched(),
                        (linear, path) -> {
                            LoraLinear lora =
                                    LoraLinear.from(
                                            linear,
                                            config.getRank(),
                                            config.getAlpha(),
                                            config.getDropout(),
                                            config.getLbp(),
                                            path);
                            layers.put(path, lora);
                            return lora;
                        });
        RewriteReport injected = injector.apply(root);
        if (!injected.getSkipped().isEmpty()) {
            logger.warn("LoRA: left as they are (adapted already): {}", injected.getLeftOut());
        }
        @SuppressWarnings("deprecation")
        LbpRewriter others = config.getLbpRewriter();
        RewriteReport report = others == null ? null : others.apply(model);
        LoraModel lm = new LoraModel(model, config, layers, save, report);
        lm.freeze();
        return lm;
    }

    /**
     * Wraps a model that already holds LoRA layers (e.g. adapted in a training listener), to save,
     * merge or summarise it.
     *
     * @param model the model
     * @param config the configuration it was adapted with
     * @return the handle
     */
    public static LoraModel of(Model model, LoraConfig config) {
        Map<String, LoraLinear> layers =
                new LinkedHashMap<>(BlockTree.find(model.getBlock(), LoraLinear.class));
        return new LoraModel(model, config, layers, modulesToSave(model.getBlock(), config), null);
    }

    private static Map<String, Block> modulesToSave(Block root, LoraConfig config) {
        Map<String, Block> save = new LinkedHashMap<>();
        if (config.getModulesToSave().isEmpty()) {
            return save;
        }
        List<String> unmatched = new ArrayList<>();
        for (String name : config.getModulesToSave()) {
            TargetModules t = TargetModules.names(name);
            boolean any = false;
            for (BlockTree.Node n : BlockTree.walk(root)) {
                if (n.getParent() != null
                        && t.matches(n.getPath())
                        && !under(n.getPath(), save.keySet())) {
                    save.put(n.getPath(), n.getBlock());
                    any = true;
                }
            }
            if (!any) {
                unmatched.add(name);
            }
        }
        if (!unmatched.isEmpty() && !config.isAllowUnmatched()) {
            throw new IllegalArgumentException(
                    "modules_to_save "
                            + unmatched
                            + " match no module; the modules are "
                            + BlockTree.modules(root).keySet());
        }
        return save;
    }

    private static boolean under(String path, Set<String> prefixes) {
        for (String p : prefixes) {
            if (path.equals(p) || path.startsWith(p + ".")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Freezes every parameter of the model except lora_A and lora_B of the LoRA layers and the
     * parameters of the modules to save. {@link #apply} does it; call it again after {@code
     * newTrainer} of a loaded PyTorch model, which unfreezes everything.
     */
    public void freeze() {
        Set<Parameter> trainable = trainableSet();
        var adapter = LbpEngines.forEngine(model.getNDManager().getEngine().getEngineName());
        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
            adapter.freeze(p.getValue(), !trainable.contains(p.getValue()));
        }
    }

    private Set<Parameter> trainableSet() {
        Set<Parameter> trainable = Collections.newSetFromMap(new IdentityHashMap<>());
        for (LoraLinear l : layers.values()) {
            trainable.add(l.getLoraA());
            trainable.add(l.getLoraB());
        }
        for (Block b : modulesToSave.values()) {
            for (Pair<String, Parameter> p : b.getParameters()) {
                trainable.add(p.getValue());
            }
        }
        return trainable;
    }

    /**
     * Counts the parameters (each Parameter object once) and those that receive gradients.
     *
     * @return {trainable, all}
     */
    public long[] countParameters() {
        Set<Parameter> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        long all = 0;
        long trainable = 0;
        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
            Parameter param = p.getValue();
            if (!seen.add(param) || param.getShape() == null) {
                continue;
            }
            long n = param.getShape().size();
            all += n;
            if (param.requiresGradient()) {
                trainable += n;
            }
        }
        return new long[] {trainable, all};
    }

    /**
     * PEFT's print_trainable_parameters line: {@code "trainable params: X || all params: Y ||
     * trainable%: Z"}.
     *
     * @return the line
     */
    public String trainableParametersSummary() {
        long[] c = countParameters();
        return String.format(
                Locale.ROOT,
                "trainable params: %,d || all params: %,d || trainable%%: %.4f",
                c[0],
                c[1],
                c[1] == 0 ? 0.0 : 100.0 * c[0] / c[1]);
    }

    /** Merges every LoRA layer ({@link LoraLinear#merge()}). */
    public void merge() {
        layers.values().forEach(LoraLinear::merge);
    }

    /** Unmerges every LoRA layer ({@link LoraLinear#unmerge()}). */
    public void unmerge() {
        layers.values().forEach(LoraLinear::unmerge);
    }

    /**
     * Restores plain Linear layers in place of the LoRA layers, optionally merged first (PEFT's
     * merge_and_unload with merge = true, unload without).
     *
     * @param merge whether to fold the adapters into the base weights first
     * @return the paths restored
     */
    public List<String> unload(boolean merge) {
        for (LoraLinear l : BlockTree.find(model.getBlock(), LoraLinear.class).values()) {
            if (merge && !l.isMerged()) {
                l.merge();
            } else if (!merge && l.isMerged()) {
                l.unmerge();
            }
        }
        return AdapterInjector.undo(model.getBlock(), LoraLinear.class);
    }

    /**
     * Saves only the active adapter to a folder: adapter_model.safetensors and adapter_config.json,
     * each written atomically.
     *
     * @param dir the folder (created if needed)
     * @throws IOException if writing fails
     * @throws IllegalStateException if a layer is merged or not initialised
     */
    public void saveAdapter(Path dir) throws IOException {
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
        SafetensorsWriter.write(dir.resolve(WEIGHTS_FILE), tensors, Map.of("format", "pt"));
        AtomicFiles.writeString(dir.resolve(CONFIG_FILE), config.toJson());
    }

    /**
     * Loads an adapter saved by {@link #saveAdapter(Path)} (or by PEFT for the same module paths)
     * into the active adapter: this model's LoRA layers and modules to save.
     *
     * @param dir the folder
     * @throws IOException if a file cannot be read or is malformed
     * @throws IllegalArgumentException if tensors are missing, extra or of the wrong shape (naming
     *     the keys and shapes), or the saved configuration's rank or alpha differs
     */
    public void loadAdapter(Path dir) throws IOException {
        loadAdapter(dir, active);
    }

    /**
     * Loads an adapter under a name. Loaded under the active name it replaces the live weights;
     * under another name it is kept aside until {@link #setActiveAdapter(String)} selects it. Every
     * adapter of one model has the same rank, alpha and targets (the parameter shapes).
     *
     * @param dir the folder
     * @param adapterName the adapter's name, e.g. "default"
     * @throws IOException if a file cannot be read or is malformed
     * @throws IllegalArgumentException if the tensors do not fit this model (naming keys and
     *     shapes)
     */
    public void loadAdapter(Path dir, String adapterName) throws IOException {
        Path cfg = dir.resolve(CONFIG_FILE);
        if (Files.exists(cfg)) {
            LoraConfig saved = readConfig(cfg);
            if (saved.getRank() != config.getRank() || saved.getAlpha() != config.getAlpha()) {
                throw new IllegalArgumentException(
                        cfg
                                + ": adapter has r="
                                + saved.getRank()
                                + ", alpha="
                                + saved.getAlpha()
                                + "; this model has r="
                                + config.getRank()
                                + ", alpha="
                                + config.getAlpha());
            }
        }
        Path file = dir.resolve(WEIGHTS_FILE);
        Map<String, Parameter> params = adapterParameters();
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
        if (adapterName.equals(active)) {
            checkNotMerged("loading an adapter");
            setLive(values);
        } else {
            stored.put(adapterName, values);
        }
    }

    /** Reads adapter_config.json; a malformed one is an IOException naming the file. */
    private static LoraConfig readConfig(Path cfg) throws IOException {
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

    /**
     * Adds a new adapter (A initialised as in {@link LoraLinear}, B zero, modules to save as they
     * are now) and makes it the active one; the previously active adapter is kept aside.
     *
     * @param adapterName the new name
     * @throws IllegalArgumentException if the name exists
     */
    public void addAdapter(String adapterName) {
        if (getAdapterNames().contains(adapterName)) {
            throw new IllegalArgumentException(
                    "adapter '" + adapterName + "' exists already: " + getAdapterNames());
        }
        checkNotMerged("adding an adapter");
        stored.put(active, snapshot());
        for (LoraLinear l : layers.values()) {
            NDArray a = l.getLoraA().getArray();
            float bound = (float) (1 / Math.sqrt(a.getShape().get(1)));
            NDArray fresh =
                    a.getManager().randomUniform(-bound, bound, a.getShape(), a.getDataType());
            a.set(fresh.toFloatArray());
            fresh.close();
            NDArray b = l.getLoraB().getArray();
            b.set(new float[(int) b.size()]);
        }
        active = adapterName;
    }

    /**
     * Makes another adapter the active one: its weights go into the LoRA layers and modules to
     * save, and the active adapter's weights are kept aside under its name.
     *
     * @param adapterName the adapter to activate
     * @throws IllegalArgumentException if there is no adapter of that name
     */
    public void setActiveAdapter(String adapterName) {
        if (adapterName.equals(active)) {
            return;
        }
        Map<String, float[]> next = stored.get(adapterName);
        if (next == null) {
            throw new IllegalArgumentException(
                    "no adapter '" + adapterName + "'; the adapters are " + getAdapterNames());
        }
        checkNotMerged("switching adapters");
        stored.put(active, snapshot());
        setLive(next);
        stored.remove(adapterName);
        active = adapterName;
    }

    /**
     * @return the active adapter's name ("default" unless changed)
     */
    public String getActiveAdapter() {
        return active;
    }

    /**
     * @return the names of all adapters, the active one included
     */
    public Set<String> getAdapterNames() {
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
    }

    /** The adapter's tensors by PEFT key. */
    private Map<String, Parameter> adapterParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (Map.Entry<String, LoraLinear> e : layers.entrySet()) {
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

    /**
     * @return the LoRA layers by path
     */
    public Map<String, LoraLinear> getLayers() {
        return layers;
    }

    /**
     * @return the modules trained fully, by path
     */
    public Map<String, Block> getModulesToSave() {
        return modulesToSave;
    }

    /**
     * @return what the LBP rewriter did to the other layers, or null if none was configured
     */
    public RewriteReport getLbpReport() {
        return lbpReport;
    }

    /**
     * @return the configuration
     */
    public LoraConfig getConfig() {
        return config;
    }

    /**
     * @return the model
     */
    public Model getModel() {
        return model;
    }

    @Override
    public String toString() {
        return "LoraModel{" + layers.size() + " LoRA layers, " + config + "}";
    }
}
