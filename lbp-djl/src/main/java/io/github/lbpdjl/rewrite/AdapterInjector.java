package io.github.lbpdjl.rewrite;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.nn.AdaptedLinear;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The injection every tuner uses, as Hugging Face PEFT's {@code inject_adapter}: find the {@link
 * Linear} layers whose paths match the targets, leave out the excluded ones, those under modules
 * trained fully and, for all-linear, the output layer; refuse patterns that match nothing; skip
 * layers some tuner adapted already; then replace each chosen Linear by the adapted layer a tuner
 * makes from it (sharing its Parameter objects). A tuner (LBP-WHT's {@link LbpRewriter}, LoRA's
 * LoraModel) supplies only the {@link LayerFactory}.
 *
 * <p>Nothing changes if a check fails. Immutable; apply it to any number of trees.
 */
public final class AdapterInjector {

    /** Makes the adapted layer that takes over a Linear. */
    @FunctionalInterface
    public interface LayerFactory {
        /**
         * Adapts one layer.
         *
         * @param linear the Linear to take over
         * @param path its path in the model, e.g. {@code blocks.0.attn.qkv}
         * @return the adapted layer, sharing the Linear's parameters
         */
        AdaptedLinear adapt(Linear linear, String path);
    }

    private final String method;
    private final TargetModules targets;
    private final TargetModules exclude;
    private final Set<String> trainedFully;
    private final boolean allowUnmatched;
    private final LayerFactory factory;

    /**
     * Creates an injector.
     *
     * @param method the tuner's name for messages, e.g. "LBP-WHT" or "LoRA"
     * @param targets the target modules
     * @param exclude modules never adapted, or null for none
     * @param trainedFully paths of modules trained fully (PEFT's modules_to_save): nothing under
     *     them is adapted
     * @param allowUnmatched whether a target pattern may match no layer
     * @param factory makes the adapted layers
     */
    public AdapterInjector(
            String method,
            TargetModules targets,
            TargetModules exclude,
            Set<String> trainedFully,
            boolean allowUnmatched,
            LayerFactory factory) {
        this.method = Objects.requireNonNull(method, "method");
        this.targets = Objects.requireNonNull(targets, "targets");
        this.exclude = exclude;
        this.trainedFully = Set.copyOf(trainedFully);
        this.allowUnmatched = allowUnmatched;
        this.factory = Objects.requireNonNull(factory, "factory");
    }

    /**
     * Adapts a model's block; a root block that is itself a target Linear is replaced with {@link
     * Model#setBlock(Block)}.
     *
     * @param model the model
     * @return the report
     * @throws IllegalArgumentException if a pattern matches nothing (unless allowed)
     */
    public RewriteReport apply(Model model) {
        Block root = model.getBlock();
        if (root instanceof Linear && !(root instanceof AdaptedLinear) && selects("")) {
            model.setBlock(factory.adapt((Linear) root, ""));
            return new RewriteReport(List.of(""), List.of(), List.of(), Map.of());
        }
        return apply(root);
    }

    /**
     * Adapts the target Linear layers of a tree in place.
     *
     * @param root the root block
     * @return the report: paths replaced, paths skipped with the reason, unmatched patterns
     * @throws IllegalArgumentException if a pattern matches nothing (unless allowed), naming the
     *     Linear layers there are and why others were skipped
     */
    public RewriteReport apply(Block root) {
        List<BlockTree.Node> selected = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        Map<String, String> reasons = new LinkedHashMap<>();
        List<String> candidates = new ArrayList<>();
        boolean[] used = new boolean[targets.getPatterns().size()];
        String outputLayer = targets.isAllLinear() ? outputLayer(root) : null;
        for (BlockTree.Node n : BlockTree.walk(root)) {
            String path = n.getPath();
            if (!(n.getBlock() instanceof Linear) || n.getParent() == null) {
                continue;
            }
            String reason = reasonToLeave(n, outputLayer);
            if (reason == null) {
                candidates.add(path);
            }
            int pattern = targets.matchingPattern(path);
            if (pattern < 0) {
                continue;
            }
            if (reason != null) {
                reasons.put(path, reason);
                continue;
            }
            used[pattern] = true;
            if (n.getBlock() instanceof AdaptedLinear) {
                skipped.add(path);
                reasons.put(path, "already " + n.getBlock().getClass().getSimpleName());
            } else {
                selected.add(n);
            }
        }
        List<String> unmatched = new ArrayList<>();
        for (int i = 0; i < used.length; i++) {
            if (!used[i]) {
                unmatched.add(targets.getPatterns().get(i));
            }
        }
        if (!unmatched.isEmpty() && !allowUnmatched) {
            throw new IllegalArgumentException(unmatchedMessage(unmatched, candidates, reasons));
        }
        // replace only once everything is checked: a failed call changes nothing
        List<String> replaced = new ArrayList<>();
        for (BlockTree.Node n : selected) {
            AdaptedLinear adapted = factory.adapt((Linear) n.getBlock(), n.getPath());
            BlockTree.replaceChild(n.getParent(), n.getKey(), n.getBlock(), adapted);
            replaced.add(n.getPath());
        }
        return new RewriteReport(replaced, skipped, unmatched, reasons);
    }

    /** Why a Linear is never adapted by this injector, or null if it may be. */
    private String reasonToLeave(BlockTree.Node n, String outputLayer) {
        String path = n.getPath();
        if (exclude != null && exclude.matches(path)) {
            return "excluded";
        }
        if (path.equals(outputLayer)) {
            return "the output layer, which all-linear leaves out";
        }
        for (String p : trainedFully) {
            if (path.equals(p) || path.startsWith(p + ".")) {
                return "trained fully (modules_to_save)";
            }
        }
        return null;
    }

    private String unmatchedMessage(
            List<String> unmatched, List<String> candidates, Map<String, String> reasons) {
        StringBuilder sb =
                new StringBuilder(method)
                        .append(" target patterns ")
                        .append(unmatched)
                        .append(" match no Linear layer; the Linear layers are ")
                        .append(candidates);
        List<String> left = new ArrayList<>();
        for (Map.Entry<String, String> e : reasons.entrySet()) {
            left.add(e.getKey() + " (" + e.getValue() + ")");
        }
        if (!left.isEmpty()) {
            sb.append("; matched but left out: ").append(String.join(", ", left));
        }
        return sb.append(" (use optAllowUnmatched(true) to allow this)").toString();
    }

    private boolean selects(String path) {
        return targets.matches(path) && (exclude == null || !exclude.matches(path));
    }

    /** PEFT's all-linear leaves out the output layer: here the last Linear of the tree. */
    private static String outputLayer(Block root) {
        String last = null;
        for (String path : BlockTree.find(root, Linear.class).keySet()) {
            last = path;
        }
        return last;
    }

    /**
     * Restores plain Linear layers in place of every adapted layer of a type in a model, the root
     * included, with the base weights as they are (the same arrays).
     *
     * @param model the model
     * @param type the adapted layer type to undo, e.g. LbpLinear
     * @return the paths restored
     */
    public static List<String> undo(Model model, Class<? extends AdaptedLinear> type) {
        if (type.isInstance(model.getBlock())) {
            model.setBlock(((AdaptedLinear) model.getBlock()).toLinear());
            return List.of("");
        }
        return undo(model.getBlock(), type);
    }

    /**
     * Restores plain Linear layers in place of every adapted layer of a type below a root block.
     *
     * @param root the root block
     * @param type the adapted layer type to undo
     * @return the paths restored
     */
    public static List<String> undo(Block root, Class<? extends AdaptedLinear> type) {
        List<String> restored = new ArrayList<>();
        for (BlockTree.Node n : BlockTree.walk(root)) {
            if (type.isInstance(n.getBlock()) && n.getParent() != null) {
                AdaptedLinear layer = (AdaptedLinear) n.getBlock();
                BlockTree.replaceChild(n.getParent(), n.getKey(), layer, layer.toLinear());
                restored.add(n.getPath());
            }
        }
        return restored;
    }
}
