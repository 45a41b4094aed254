package io.github.lbpdjl.rewrite;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.nn.AdaptedBlock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The injection every tuner uses, as Hugging Face PEFT's {@code inject_adapter}: find the layers of
 * the kinds a tuner adapts (by default {@link Linear}) whose paths match the targets, leave out the
 * excluded ones, those under modules trained fully and, for all-linear, the output layer; refuse
 * patterns that match nothing; skip layers some tuner adapted already; then replace each chosen
 * layer by the adapted layer a tuner makes from it (sharing its Parameter objects), once every one
 * of them was made. A tuner (LBP-WHT's {@link LbpRewriter}, LoRA's LoraModel) supplies only the
 * {@link LayerFactory}. A block that a target pattern names but the factory does not accept (a
 * Conv2d for LoRA, a LayerNorm) is never skipped silently: if it has parameters of its own, the
 * report's {@link RewriteReport#getLeftOut()} and the unmatched-pattern error name it and say why.
 *
 * <p>Nothing changes if a check fails. Immutable; apply it to any number of trees.
 */
public final class AdapterInjector {

    /** Makes the adapted layer that takes over a plain layer. */
    @FunctionalInterface
    public interface LayerFactory {
        /**
         * Adapts one layer. It may refuse a layer it cannot adapt with an IllegalArgumentException
         * naming it (e.g. an input shape that does not fit the token layout); then nothing is
         * replaced.
         *
         * @param layer the layer to take over, one that {@link #accepts(Block)}
         * @param path its path in the model, e.g. {@code blocks.0.attn.qkv}
         * @return the adapted layer, sharing the layer's parameters
         */
        AdaptedBlock adapt(Block layer, String path);

        /**
         * Whether a plain layer is of a kind this factory adapts (default: a Linear).
         *
         * @param layer a block of the model, never an {@link AdaptedBlock}
         * @return true if targets may select it
         */
        default boolean accepts(Block layer) {
            return layer instanceof Linear;
        }

        /**
         * Names the kinds of layer accepted, for messages.
         *
         * @return e.g. "Linear layer"
         */
        default String kinds() {
            return "Linear layer";
        }

        /**
         * Says why a layer a target matched, of a kind this factory does not accept, is not
         * adapted, for the report and the unmatched-pattern error.
         *
         * @param layer a block with parameters that this factory does not accept
         * @return the reason, or null for the injector's own ("a Conv2d, which LoRA does not adapt
         *     here")
         */
        default String refusal(Block layer) {
            return null;
        }

        /**
         * Says why a layer of an accepted kind that all-linear selects is left out (e.g. a Linear
         * that sees no tokens); layers a target names explicitly are adapted regardless.
         *
         * @param path the layer's path
         * @return the reason, or null (the default) to adapt it
         */
        default String leftOutOfAllLinear(String path) {
            return null;
        }
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
     * Adapts a model's block; a root block that is itself a target layer is replaced with {@link
     * Model#setBlock(Block)}.
     *
     * @param model the model
     * @return the report
     * @throws IllegalArgumentException if a pattern matches nothing (unless allowed)
     */
    public RewriteReport apply(Model model) {
        Block root = model.getBlock();
        if (!(root instanceof AdaptedBlock) && factory.accepts(root) && selects("")) {
            model.setBlock(factory.adapt(root, ""));
            return new RewriteReport(
                    List.of(""), List.of(), List.of(), Map.of(), Map.of("", List.of("")));
        }
        return apply(root);
    }

    /**
     * Adapts the target layers of a tree in place.
     *
     * @param root the root block
     * @return the report: paths replaced, paths skipped or left out with the reason, unmatched
     *     patterns
     * @throws IllegalArgumentException if a pattern matches nothing (unless allowed), naming the
     *     layers of the accepted kinds there are and why others were left out
     */
    public RewriteReport apply(Block root) {
        return inject(root, true);
    }

    /**
     * Says what {@link #apply(Block)} would do, without changing the tree: every check runs and
     * every adapted layer is made (so a layer the factory refuses fails here too), none is put in.
     *
     * @param root the root block
     * @return the report; its replaced paths are the ones apply would replace
     * @throws IllegalArgumentException as apply would
     */
    public RewriteReport plan(Block root) {
        return inject(root, false);
    }

    private RewriteReport inject(Block root, boolean replace) {
        List<BlockTree.Node> selected = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        Map<String, String> reasons = new LinkedHashMap<>();
        List<String> candidates = new ArrayList<>();
        boolean[] used = new boolean[targets.getPatterns().size()];
        Map<String, List<String>> matches = new LinkedHashMap<>();
        String outputLayer = targets.isAllLinear() ? outputLayer(root) : null;
        for (BlockTree.Node n : BlockTree.walk(root)) {
            String path = n.getPath();
            boolean adapted = n.getBlock() instanceof AdaptedBlock;
            if (n.getParent() == null) {
                continue;
            }
            if (!(adapted || factory.accepts(n.getBlock()))) {
                noteRefused(n, reasons);
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
            matches.computeIfAbsent(targets.getPatterns().get(pattern), k -> new ArrayList<>())
                    .add(path);
            if (reason != null) {
                reasons.put(path, reason);
                continue;
            }
            used[pattern] = true;
            if (adapted) {
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
        // make every adapted layer first, replace only then: a refused layer changes nothing
        List<AdaptedBlock> made = new ArrayList<>();
        for (BlockTree.Node n : selected) {
            made.add(factory.adapt(n.getBlock(), n.getPath()));
        }
        List<String> replaced = new ArrayList<>();
        for (int i = 0; i < selected.size(); i++) {
            BlockTree.Node n = selected.get(i);
            if (replace) {
                BlockTree.replaceChild(n.getParent(), n.getKey(), n.getBlock(), made.get(i));
            }
            replaced.add(n.getPath());
        }
        return new RewriteReport(replaced, skipped, unmatched, reasons, matches);
    }

    /**
     * Records a block a target pattern names that the factory does not accept, if it has parameters
     * of its own (PEFT would adapt it or refuse it; here it is left out, never silently).
     * All-linear names only Linear layers, so nothing is recorded for it.
     */
    private void noteRefused(BlockTree.Node n, Map<String, String> reasons) {
        Block block = n.getBlock();
        if (targets.isAllLinear()
                || block.getDirectParameters().isEmpty()
                || targets.matchingPattern(n.getPath()) < 0) {
            return;
        }
        String reason = reasonToLeave(n, null);
        if (reason == null) {
            reason = factory.refusal(block);
        }
        if (reason == null) {
            reason =
                    "a "
                            + block.getClass().getSimpleName()
                            + ", which "
                            + method
                            + " does not adapt here";
        }
        reasons.put(n.getPath(), reason);
    }

    /** Why a layer is never adapted by this injector, or null if it may be. */
    private String reasonToLeave(BlockTree.Node n, String outputLayer) {
        String path = n.getPath();
        if (exclude != null && exclude.matches(path)) {
            return "excluded";
        }
        if (path.equals(outputLayer)) {
            return "the output layer, which all-linear leaves out";
        }
        if (targets.isAllLinear() && factory.leftOutOfAllLinear(path) != null) {
            return factory.leftOutOfAllLinear(path);
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
                        .append(" match no ")
                        .append(factory.kinds())
                        .append("; the candidates are ")
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
     * Restores plain layers in place of every adapted layer of a type in a model, the root
     * included, with the base weights as they are (the same arrays).
     *
     * @param model the model
     * @param type the adapted layer type to undo, e.g. LbpLinear
     * @return the paths restored
     */
    public static List<String> undo(Model model, Class<? extends AdaptedBlock> type) {
        return undo(model, List.of(type));
    }

    /**
     * Restores plain layers in place of every adapted layer of some types in a model, the root
     * included, with the base weights as they are (the same arrays).
     *
     * @param model the model
     * @param types the adapted layer types to undo, e.g. LbpLinear and LbpConv2d
     * @return the paths restored, in model order
     */
    public static List<String> undo(Model model, List<Class<? extends AdaptedBlock>> types) {
        if (isOneOf(model.getBlock(), types)) {
            model.setBlock(((AdaptedBlock) model.getBlock()).toOriginal());
            return List.of("");
        }
        return undo(model.getBlock(), types);
    }

    /**
     * Restores plain layers in place of every adapted layer of a type below a root block.
     *
     * @param root the root block
     * @param type the adapted layer type to undo
     * @return the paths restored
     */
    public static List<String> undo(Block root, Class<? extends AdaptedBlock> type) {
        return undo(root, List.of(type));
    }

    /**
     * Restores plain layers in place of every adapted layer of some types below a root block.
     *
     * @param root the root block
     * @param types the adapted layer types to undo
     * @return the paths restored, in model order
     */
    public static List<String> undo(Block root, List<Class<? extends AdaptedBlock>> types) {
        List<String> restored = new ArrayList<>();
        for (BlockTree.Node n : BlockTree.walk(root)) {
            if (isOneOf(n.getBlock(), types) && n.getParent() != null) {
                AdaptedBlock layer = (AdaptedBlock) n.getBlock();
                BlockTree.replaceChild(n.getParent(), n.getKey(), layer, layer.toOriginal());
                restored.add(n.getPath());
            }
        }
        return restored;
    }

    private static boolean isOneOf(Block block, List<Class<? extends AdaptedBlock>> types) {
        for (Class<? extends AdaptedBlock> t : types) {
            if (t.isInstance(block)) {
                return true;
            }
        }
        return false;
    }
}
