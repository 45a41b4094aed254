package io.github.lbpdjl.peft;

import ai.djl.nn.Block;
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
     * Resolves the configuration's modules_to_save names to the outermost modules they match.
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
     * Refuses targets that select a layer of another kind than Linear that has parameters of its
     * own (not excluded, not under a module to save): PEFT matches by name whatever the kind, and
     * would give a Conv2d a LoRA Conv2d (and refuse a LayerNorm), so leaving it out here would make
     * the adapter differ from PEFT's reading of the same configuration.
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
                            + ", which PEFT would adapt as well (a Conv2d with a LoRA Conv2d) but"
                            + " LoRA here adapts only Linear layers; narrow the targets (e.g."
                            + " 'attn.proj' instead of 'proj') or exclude those layers"
                            + " (optExclude, exclude_modules)");
        }
    }

    /**
     * Replaces the target Linear layers outside the modules to save by {@link LoraLinear}; nothing
     * is changed if a check fails.
     *
     * @param layers receives the new LoRA layers by path
     * @return the injector's report
     */
    static RewriteReport inject(
            Block root, LoraConfig config, Set<String> save, Map<String, LoraLinear> layers) {
        AdapterInjector injector =
                new AdapterInjector(
                        "LoRA",
                        config.getTargets(),
                        config.getExclude(),
                        save,
                        config.isAllowUnmatched(),
                        (layer, path) -> {
                            LoraLinear lora =
                                    LoraLinear.from(
                                            (Linear) layer,
                                            config.getRank(path),
                                            config.getAlpha(path),
                                            config.isUseRslora(),
                                            config.getDropout(),
                                            config.getLbp(),
                                            path);
                            layers.put(path, lora);
                            return lora;
                        });
        return injector.apply(root);
    }
}
