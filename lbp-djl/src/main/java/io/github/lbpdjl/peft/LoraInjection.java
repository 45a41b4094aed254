package io.github.lbpdjl.peft;

import ai.djl.nn.Block;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.nn.AdaptedBlock;
import io.github.lbpdjl.rewrite.AdapterInjector;
import io.github.lbpdjl.rewrite.RewriteReport;
import io.github.lbpdjl.rewrite.TargetModules;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where a {@link LoraConfig} puts LoRA in a model, for {@link LoraModel#apply} and {@link
 * LoraModel#of}: the modules to save (PEFT's modules_to_save names resolved to module paths) and
 * the target Linear layers replaced by {@link LoraLinear} through the shared {@link
 * AdapterInjector}.
 */
final class LoraInjection {

    private LoraInjection() {}

    /**
     * Resolves the configuration's modules_to_save names to the outermost modules they match, as
     * PEFT matches them: a module whose path ends with the name.
     *
     * @throws IllegalArgumentException if a name matches no module (unless allowed), listing the
     *     modules there are
     */
    static Map<String, Block> modulesToSave(Block root, LoraConfig config) {
        Map<String, Block> save = new LinkedHashMap<>();
        if (config.getModulesToSave().isEmpty()) {
            return save;
        }
        List<String> unmatched = new ArrayList<>();
        for (String name : config.getModulesToSave()) {
            boolean any = false;
            for (BlockTree.Node n : BlockTree.walk(root)) {
                // PEFT's _set_trainable: a plain suffix, no dot needed ("norm" takes "fc_norm")
                if (n.getParent() != null && n.getPath().endsWith(name)) {
                    any = true;
                    if (!under(n.getPath(), save.keySet())) {
                        save.put(n.getPath(), n.getBlock());
                    }
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
     * Refuses targets that select a layer of another kind than Linear or Conv2d that has parameters
     * of its own (not excluded, not under a module to save), e.g. a LayerNorm: PEFT matches by name
     * whatever the kind and refuses such a layer too, so leaving it out here would make the adapter
     * differ from PEFT's reading of the same configuration.
     *
     * @throws IllegalArgumentException naming the layers, their kinds and the way out
     */
    static void refuseOtherKinds(Block root, LoraConfig config, Set<String> save) {
        TargetModules targets = config.getTargets();
        if (targets.isAllLinear()) {
            return;
        }
        List<String> found = new ArrayList<>();
        for (BlockTree.Node n : BlockTree.walk(root)) {
            Block b = n.getBlock();
            String path = n.getPath();
            if (n.getParent() == null
                    || b instanceof Linear
                    || b instanceof Conv2d
                    || b instanceof AdaptedBlock
                    || b.getDirectParameters().isEmpty()
                    || !targets.matches(path)
                    || (config.getExclude() != null && config.getExclude().matches(path))
                    || under(path, save)) {
                continue;
            }
            found.add(path + " (" + b.getClass().getSimpleName() + ")");
        }
        if (!found.isEmpty()) {
            throw new IllegalArgumentException(
                    "LoRA targets "
                            + targets
                            + " also select "
                            + String.join(", ", found)
                            + ", of kinds LoRA does not adapt (PEFT refuses them too): LoRA adapts"
                            + " Linear and Conv2d layers; narrow the targets or exclude those"
                            + " layers (optExclude, exclude_modules)");
        }
    }

    /**
     * Replaces the target Linear and Conv2d layers outside the modules to save by {@link
     * LoraLinear} and {@link LoraConv2d} (Conv2d only for targets other than all-linear, as in
     * PEFT); nothing is changed if a check fails.
     *
     * @param layers receives the new LoRA Linear layers by path
     * @param convs receives the new LoRA Conv2d layers by path
     * @return the injector's report
     */
    static RewriteReport inject(
            Block root,
            LoraConfig config,
            Set<String> save,
            Map<String, LoraLinear> layers,
            Map<String, LoraConv2d> convs) {
        boolean allLinear = config.getTargets().isAllLinear();
        AdapterInjector.LayerFactory factory =
                new AdapterInjector.LayerFactory() {
                    @Override
                    public AdaptedBlock adapt(Block layer, String path) {
                        int r = config.getRank(path);
                        float a = config.getAlpha(path);
                        boolean rs = config.isUseRslora();
                        float p = config.getDropout();
                        if (layer instanceof Conv2d) {
                            LoraConv2d c = LoraConv2d.from((Conv2d) layer, r, a, rs, p, path);
                            convs.put(path, c);
                            return c;
                        }
                        LoraLinear l =
                                LoraLinear.from((Linear) layer, r, a, rs, p, config.getLbp(), path);
                        layers.put(path, l);
                        return l;
                    }

                    @Override
                    public boolean accepts(Block layer) {
                        return layer instanceof Linear || (!allLinear && layer instanceof Conv2d);
                    }

                    @Override
                    public String kinds() {
                        return allLinear ? "Linear layer" : "Linear or Conv2d layer";
                    }
                };
        AdapterInjector injector =
                new AdapterInjector(
                        "LoRA",
                        config.getTargets(),
                        config.getExclude(),
                        save,
                        config.isAllowUnmatched(),
                        factory);
        return injector.apply(root);
    }
}
