package io.github.lbpdjl.peft;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.github.lbpdjl.engine.LbpEngines;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.rewrite.AdapterInjector;
import io.github.lbpdjl.rewrite.RewriteReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model with LoRA adapters, as PEFT's LoraModel: created by {@link #apply(Model, LoraConfig)}, it
 * freezes everything but the adapters and the modules to save, reports the trainable parameters,
 * merges and unmerges, and saves and loads only the adapter in PEFT's format (LoRA on Linear
 * layers, {@link LoraLinear}, and on Conv2d layers, {@link LoraConv2d}) (adapter_model.safetensors
 * with keys {@code base_model.model.<path>.lora_A.weight}, {@code ...lora_B.weight}, the modules to
 * save under {@code base_model.model.<path>.<param>} as PEFT writes them, DJL's "gamma"/"beta"
 * named "weight"/"bias"; plus adapter_config.json).
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

    private final Model model;
    private final LoraConfig config;
    private final Map<String, LoraLinear> layers;
    private final Map<String, LoraConv2d> convLayers;
    private final Map<String, Block> modulesToSave;
    private final RewriteReport report;
    private final AdapterStore adapters;

    private LoraModel(
            Model model,
            LoraConfig config,
            Map<String, LoraLinear> layers,
            Map<String, LoraConv2d> convLayers,
            Map<String, Block> modulesToSave,
            RewriteReport report) {
        this.model = model;
        this.report = report;
        this.config = config;
        this.layers = Collections.unmodifiableMap(layers);
        this.convLayers = Collections.unmodifiableMap(convLayers);
        this.modulesToSave = Collections.unmodifiableMap(modulesToSave);
        this.adapters = new AdapterStore(config, this.layers, this.convLayers, this.modulesToSave);
    }

    /**
     * Adapts a model: replaces the target Linear layers by {@link LoraLinear} (sharing the base
     * Parameter objects; each with the rank, alpha and scaling the configuration gives its path),
     * then freezes every parameter except lora_A, lora_B and those of the modules to save. Nothing
     * is changed if a check fails.
     *
     * @param model the model; its block must not itself be a target Linear
     * @param config the configuration
     * @return the handle
     * @throws IllegalArgumentException if a target pattern or a modules_to_save name matches no
     *     module (unless allowed), listing the modules there are, or if the targets select a layer
     *     of another kind with parameters (a Conv2d, which PEFT would adapt), naming it
     */
    public static LoraModel apply(Model model, LoraConfig config) {
        Block root = model.getBlock();
        Map<String, Block> save = LoraInjection.modulesToSave(root, config);
        LoraInjection.refuseOtherKinds(root, config, save.keySet());
        Map<String, LoraLinear> layers = new LinkedHashMap<>();
        Map<String, LoraConv2d> convs = new LinkedHashMap<>();
        RewriteReport injected = LoraInjection.inject(root, config, save.keySet(), layers, convs);
        if (!injected.getSkipped().isEmpty()) {
            logger.warn("LoRA: left as they are (adapted already): {}", injected.getSkipped());
        }
        if (config.getLbp() != null && !convs.isEmpty()) {
            logger.warn("LoRA: Conv2d layers adapted without LBP-WHT: {}", convs.keySet());
        }
        LoraModel lm = new LoraModel(model, config, layers, convs, save, injected);
        lm.freeze();
        return lm;
    }

    /**
     * Loads a saved adapter onto a base model in one call, as PEFT's {@code
     * PeftModel.from_pretrained}: reads the folder's adapter_config.json, adapts the model with it
     * ({@link #apply}) and loads adapter_model.safetensors into the new layers (adapter "default").
     * If the weights do not fit, the LoRA layers are taken out again.
     *
     * @param model the base model, initialised
     * @param dir the adapter folder, written by {@link #saveAdapter(Path)} or by PEFT
     * @return the handle
     * @throws IOException if a file is missing, unreadable or malformed, naming it
     * @throws IllegalArgumentException if the configuration sets a field not supported here, its
     *     targets do not fit the model, or the tensors do not (naming keys and shapes)
     */
    public static LoraModel fromPretrained(Model model, Path dir) throws IOException {
        Path cfg = dir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(cfg)) {
            throw new IOException(dir + " holds no " + CONFIG_FILE + ": not a LoRA adapter");
        }
        LoraModel lm = apply(model, AdapterStore.readConfig(cfg));
        try {
            lm.loadAdapter(dir);
        } catch (IOException | RuntimeException e) {
            lm.unload(false);
            throw e;
        }
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
        Map<String, LoraConv2d> convs =
                new LinkedHashMap<>(BlockTree.find(model.getBlock(), LoraConv2d.class));
        Map<String, Block> save = LoraInjection.modulesToSave(model.getBlock(), config);
        return new LoraModel(model, config, layers, convs, save, null);
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
        for (LoraConv2d c : convLayers.values()) {
            trainable.add(c.getLoraA());
            trainable.add(c.getLoraB());
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

    /** Merges every LoRA layer ({@link LoraLinear#merge()}, {@link LoraConv2d#merge()}). */
    public void merge() {
        layers.values().forEach(LoraLinear::merge);
        convLayers.values().forEach(LoraConv2d::merge);
    }

    /** Unmerges every LoRA layer. */
    public void unmerge() {
        layers.values().forEach(LoraLinear::unmerge);
        convLayers.values().forEach(LoraConv2d::unmerge);
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
        for (LoraConv2d c : BlockTree.find(model.getBlock(), LoraConv2d.class).values()) {
            if (merge != c.isMerged()) {
                if (merge) {
                    c.merge();
                } else {
                    c.unmerge();
                }
            }
        }
        return AdapterInjector.undo(model.getBlock(), List.of(LoraLinear.class, LoraConv2d.class));
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
        adapters.save(dir);
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
        loadAdapter(dir, adapters.active());
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
        adapters.load(dir, adapterName);
    }

    /**
     * Adds a new adapter (A initialised as in {@link LoraLinear}, B zero, modules to save as they
     * are now) and makes it the active one; the previously active adapter is kept aside.
     *
     * @param adapterName the new name
     * @throws IllegalArgumentException if the name exists
     */
    public void addAdapter(String adapterName) {
        adapters.add(adapterName);
    }

    /**
     * Makes another adapter the active one: its weights go into the LoRA layers and modules to
     * save, and the active adapter's weights are kept aside under its name.
     *
     * @param adapterName the adapter to activate
     * @throws IllegalArgumentException if there is no adapter of that name
     */
    public void setActiveAdapter(String adapterName) {
        adapters.setActive(adapterName);
    }

    /**
     * @return the active adapter's name ("default" unless changed)
     */
    public String getActiveAdapter() {
        return adapters.active();
    }

    /**
     * @return the names of all adapters, the active one included
     */
    public Set<String> getAdapterNames() {
        return adapters.names();
    }

    /**
     * @return the LoRA Linear layers by path
     */
    public Map<String, LoraLinear> getLayers() {
        return layers;
    }

    /** Returns the LoRA Conv2d layers by path (e.g. a ViT's patch_embed.proj). */
    public Map<String, LoraConv2d> getConvLayers() {
        return convLayers;
    }

    /**
     * @return the modules trained fully, by path
     */
    public Map<String, Block> getModulesToSave() {
        return modulesToSave;
    }

    /**
     * Returns what the LoRA injection did: the layers replaced, and those a target pattern matched
     * but left as they were, with the reason (already adapted, excluded, the output layer of
     * all-linear, under a module to save).
     *
     * @return the report, or null for a handle made with {@link #of}
     */
    public RewriteReport getReport() {
        return report;
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
        return "LoraModel{" + (layers.size() + convLayers.size()) + " LoRA layers, " + config + "}";
    }
}
