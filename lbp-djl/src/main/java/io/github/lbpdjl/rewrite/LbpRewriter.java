package io.github.lbpdjl.rewrite;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.peft.LoraLinear;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the chosen {@link Linear} layers of a DJL block tree into {@link LbpLinear}, keeping the
 * trained parameter arrays, and back ({@link #undo(Block)}). LoRA layers ({@link LoraLinear}) are
 * never rewritten: they take LBP-WHT through their own configuration.
 *
 * <pre>{@code
 * RewriteReport r = LbpRewriter.builder()
 *         .optTargets(TargetModules.names("qkv", "proj", "fc1", "fc2"))
 *         .optConfig(LbpConfig.builder().optSelection(BasisSelection.lowPassL1(4)).build())
 *         .optLayout(TokenLayout.grid(1, 14, 14))
 *         .build()
 *         .apply(model.getBlock());
 * }</pre>
 *
 * Immutable; apply it to any number of trees (one at a time per tree).
 */
public final class LbpRewriter {

    private static final Logger logger = LoggerFactory.getLogger(LbpRewriter.class);

    private final TargetModules targets;
    private final TargetModules exclude;
    private final LbpConfig config;
    private final TokenLayout layout;
    private final Map<TargetModules, TokenLayout> layouts;
    private final boolean allowUnmatched;

    private LbpRewriter(Builder b) {
        this.targets = b.targets;
        this.exclude = b.exclude;
        this.config = b.config;
        this.layout = b.layout;
        this.layouts = new LinkedHashMap<>(b.layouts);
        this.allowUnmatched = b.allowUnmatched;
    }

    /**
     * Creates a builder: targets all-linear (which, as in PEFT, leaves out the output layer: the
     * last Linear of the tree), excludes the classifier head ("head", "classifier", "lm_head"), the
     * default {@link LbpConfig}.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * @return the LBP-WHT configuration given to every replaced layer (before its layout)
     */
    public LbpConfig getConfig() {
        return config;
    }

    /**
     * @return the target modules
     */
    public TargetModules getTargets() {
        return targets;
    }

    /**
     * Rewrites a model's block; a root block that is itself a target Linear is replaced with {@link
     * Model#setBlock(Block)}.
     *
     * @param model the model
     * @return the report
     */
    public RewriteReport apply(Model model) {
        Block root = model.getBlock();
        if (root instanceof Linear
                && !(root instanceof LbpLinear)
                && !(root instanceof LoraLinear)
                && selects("")) {
            model.setBlock(LbpLinear.from((Linear) root, configFor(""), ""));
            return new RewriteReport(List.of(""), List.of(), List.of());
        }
        return apply(root);
    }

    /**
     * Rewrites the target Linear layers of a tree in place.
     *
     * @param root the root block
     * @return the report: paths replaced, paths already LbpLinear (skipped, with a warning)
     * @throws IllegalArgumentException if a pattern matches nothing (unless allowed)
     */
    public RewriteReport apply(Block root) {
        List<BlockTree.Node> selected = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        boolean[] used = new boolean[targets.getPatterns().size()];
        String outputLayer = targets.isAllLinear() ? outputLayer(root) : null;
        for (BlockTree.Node n : BlockTree.walk(root)) {
            if (!(n.getBlock() instanceof Linear)
                    || n.getBlock() instanceof LoraLinear
                    || n.getParent() == null
                    || n.getPath().equals(outputLayer)) {
                continue; // LoRA layers carry their own LBP-WHT configuration
            }
            int pattern = targets.matchingPattern(n.getPath());
            if (pattern < 0 || exclude.matches(n.getPath())) {
                continue;
            }
            used[pattern] = true;
            if (n.getBlock() instanceof LbpLinear) {
                skipped.add(n.getPath());
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
            throw new IllegalArgumentException(
                    "LBP-WHT target patterns "
                            + unmatched
                            + " match no Linear layer; the Linear layers are "
                            + BlockTree.find(root, Linear.class).keySet()
                            + " (use optAllowUnmatched(true) to allow this)");
        }
        // replace only once everything is checked: a failed call changes nothing
        List<String> replaced = new ArrayList<>();
        for (BlockTree.Node n : selected) {
            LbpLinear lbp =
                    LbpLinear.from((Linear) n.getBlock(), configFor(n.getPath()), n.getPath());
            BlockTree.replaceChild(n.getParent(), n.getKey(), n.getBlock(), lbp);
            replaced.add(n.getPath());
        }
        if (!skipped.isEmpty()) {
            logger.warn("LBP-WHT already applied to {}: left as they are", skipped);
        }
        return new RewriteReport(replaced, skipped, unmatched);
    }

    /**
     * Restores plain Linear layers in place of every LbpLinear of a tree, with the weights as
     * trained (the same arrays).
     *
     * @param root the root block
     * @return the paths restored
     */
    public static List<String> undo(Block root) {
        List<String> restored = new ArrayList<>();
        for (BlockTree.Node n : BlockTree.walk(root)) {
            if (n.getBlock() instanceof LbpLinear && n.getParent() != null) {
                BlockTree.replaceChild(
                        n.getParent(),
                        n.getKey(),
                        n.getBlock(),
                        ((LbpLinear) n.getBlock()).toLinear());
                restored.add(n.getPath());
            }
        }
        return restored;
    }

    /**
     * Restores plain Linear layers in a model, including a root LbpLinear.
     *
     * @param model the model
     * @return the paths restored
     */
    public static List<String> undo(Model model) {
        if (model.getBlock() instanceof LbpLinear) {
            model.setBlock(((LbpLinear) model.getBlock()).toLinear());
            return List.of("");
        }
        return undo(model.getBlock());
    }

    /** PEFT's all-linear leaves out the output layer: here the last Linear of the tree. */
    private static String outputLayer(Block root) {
        String last = null;
        for (String path : BlockTree.find(root, Linear.class).keySet()) {
            last = path;
        }
        return last;
    }

    private boolean selects(String path) {
        return targets.matches(path) && !exclude.matches(path);
    }

    private LbpConfig configFor(String path) {
        TokenLayout l = layout;
        for (Map.Entry<TargetModules, TokenLayout> e : layouts.entrySet()) {
            if (e.getKey().matches(path)) {
                l = e.getValue();
                break;
            }
        }
        return l == null ? config : config.toBuilder().optLayout(l).build();
    }

    /** Builds an {@link LbpRewriter}. */
    public static final class Builder {

        private TargetModules targets = TargetModules.allLinear();
        private TargetModules exclude = TargetModules.names("head", "classifier", "lm_head");
        private LbpConfig config = LbpConfig.builder().build();
        private TokenLayout layout;
        private final Map<TargetModules, TokenLayout> layouts = new LinkedHashMap<>();
        private boolean allowUnmatched;

        Builder() {}

        /**
         * Sets the target modules (default all-linear).
         *
         * @param targets the targets
         * @return this builder
         */
        public Builder optTargets(TargetModules targets) {
            this.targets = Objects.requireNonNull(targets, "targets");
            return this;
        }

        /**
         * Sets the modules never rewritten (default the classifier head: "head", "classifier",
         * "lm_head"); {@code null} excludes nothing.
         *
         * @param exclude the exclusions, or null
         * @return this builder
         */
        public Builder optExclude(TargetModules exclude) {
            this.exclude = exclude == null ? TargetModules.regex("(?!)") : exclude;
            return this;
        }

        /**
         * Sets the LBP-WHT configuration of the replaced layers.
         *
         * @param config the configuration
         * @return this builder
         */
        public Builder optConfig(LbpConfig config) {
            this.config = Objects.requireNonNull(config, "config");
            return this;
        }

        /**
         * Sets the token layout of every replaced layer (e.g. class token + 14x14).
         *
         * @param layout the layout
         * @return this builder
         */
        public Builder optLayout(TokenLayout layout) {
            this.layout = layout;
            return this;
        }

        /**
         * Sets the token layout of the replaced layers matching a pattern; the first matching
         * pattern wins over {@link #optLayout(TokenLayout)}.
         *
         * @param modules the modules
         * @param layout their layout
         * @return this builder
         */
        public Builder optLayout(TargetModules modules, TokenLayout layout) {
            layouts.put(
                    Objects.requireNonNull(modules, "modules"),
                    Objects.requireNonNull(layout, "layout"));
            return this;
        }

        /**
         * Allows target patterns that match no Linear layer (default: an error).
         *
         * @param allow whether to allow
         * @return this builder
         */
        public Builder optAllowUnmatched(boolean allow) {
            this.allowUnmatched = allow;
            return this;
        }

        /**
         * Builds the rewriter.
         *
         * @return the rewriter
         */
        public LbpRewriter build() {
            return new LbpRewriter(this);
        }
    }
}
