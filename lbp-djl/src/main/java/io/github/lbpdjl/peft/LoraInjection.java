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
     * Returns the layers a target pattern matched that are of a kind LoRA does not adapt (a Conv2d,
     * which PEFT would adapt), with the reason.
     *
     * @param root the tree the injection ran on
     * @param report its report
     * @return path to reason, in model order
     */
    static Map<String, String> notAdaptable(Block root, RewriteReport report) {
        Map<String, Block> modules = BlockTree.modules(root);
        Map<String, String> out = new LinkedHashMap<>();
        report.getLeftOut()
                .forEach(
                        (path, reason) -> {
                            Block b = modules.get(path);
                            if (b != null
                                    && !(b instanceof Linear)
                                    && !(b instanceof AdaptedBlock)) {
                                out.put(path, reason);
                            }
                        });
        return out;
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
                                            config.getRank(),
                                            config.getAlpha(),
                                            config.getDropout(),
                                            config.getLbp(),
                                            path);
                            layers.put(path, lora);
                            return lora;
                        });
        return injector.apply(root);
    }
}
