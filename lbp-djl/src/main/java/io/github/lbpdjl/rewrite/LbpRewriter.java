package io.github.lbpdjl.rewrite;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.modules.LayerGrids;
import io.github.lbpdjl.modules.TokenGrid;
import io.github.lbpdjl.nn.AdaptedBlock;
import io.github.lbpdjl.nn.LbpConv2d;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the chosen {@link Linear} layers of a DJL block tree into {@link LbpLinear}, and the 1x1
 * {@link Conv2d} layers that targets name (names, globs, a regex; not all-linear, which means
 * Linear only, as in PEFT) into {@link LbpConv2d}, keeping the trained parameter arrays, and back
 * ({@link #undo(Block)}). A convolution's grid is its input's H x W unless a per-pattern layout
 * ({@link Builder#optLayout(TargetModules, TokenLayout)}) names it; other layouts are for Linear
 * layers. A Conv2d that a target names but is not 1x1 (stride 1, no groups, dilation or padding) is
 * left out, with the reason in the report. Layers a tuner adapted already (LoRA layers) are never
 * rewritten: they take LBP-WHT through their own configuration.
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

    /** The layer types this tuner makes, which undo restores. */
    private static final List<Class<? extends AdaptedBlock>> LAYERS =
            List.of(LbpLinear.class, LbpConv2d.class);

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
     * Rewrites a model's block; a root block that is itself a target layer is replaced with {@link
     * Model#setBlock(Block)}.
     *
     * @param model the model
     * @return the report
     */
    public RewriteReport apply(Model model) {
        return warnSkipped(injector(model.getBlock()).apply(model));
    }

    /**
     * Rewrites the target layers of a tree in place.
     *
     * @param root the root block
     * @return the report: paths replaced, paths already adapted (skipped, with a warning)
     * @throws IllegalArgumentException if a pattern matches nothing (unless allowed)
     */
    public RewriteReport apply(Block root) {
        return warnSkipped(injector(root).apply(root));
    }

    /**
     * Says which layers {@link #apply(Model)} would rewrite and the token layout each would use,
     * without changing the model. Layers whose input shape is known (an initialised model) are
     * checked against their layout here, as apply checks them.
     *
     * @param model the model
     * @return path to layout; null where the layout is inferred from the first input (E + a square
     *     grid)
     * @throws IllegalArgumentException as apply would
     */
    public Map<String, TokenLayout> plan(Model model) {
        Map<String, TokenLayout> layouts = new LinkedHashMap<>();
        injector(model.getBlock(), layouts).plan(model.getBlock());
        return layouts;
    }

    private AdapterInjector injector(Block root) {
        return injector(root, new LinkedHashMap<>());
    }

    /** The injector of this rewriter; each layer it makes is checked and its layout recorded. */
    private AdapterInjector injector(Block root, Map<String, TokenLayout> layouts) {
        return new AdapterInjector(
                "LBP-WHT",
                targets,
                exclude,
                Set.of(),
                allowUnmatched,
                new LbpLayerFactory(
                        this,
                        modelLayouts(root),
                        layouts,
                        root instanceof LayerGrids
                                ? ((LayerGrids) root).getLayerGrids().keySet()
                                : null));
    }

    /**
     * The layouts the model states, by layer path: one for all ({@link TokenGrid}), or each layer's
     * grid ({@link LayerGrids}); none otherwise.
     */
    private static Function<String, TokenLayout> modelLayouts(Block root) {
        if (root instanceof TokenGrid) {
            TokenLayout all = TokenLayout.of((TokenGrid) root);
            return path -> all;
        }
        if (root instanceof LayerGrids) {
            Map<String, int[]> grids = ((LayerGrids) root).getLayerGrids();
            return path -> {
                int[] g = grids.get(path);
                return g == null ? null : TokenLayout.grid(0, g[0], g[1]);
            };
        }
        return path -> null;
    }

    private static RewriteReport warnSkipped(RewriteReport report) {
        if (!report.getSkipped().isEmpty()) {
            logger.warn("LBP-WHT already applied to {}: left as they are", report.getSkipped());
        }
        return report;
    }

    /**
     * Restores plain Linear and Conv2d layers in place of every LbpLinear and LbpConv2d of a tree,
     * with the weights as trained (the same arrays).
     *
     * @param root the root block
     * @return the paths restored
     */
    public static List<String> undo(Block root) {
        return AdapterInjector.undo(root, LAYERS);
    }

    /**
     * Restores plain Linear and Conv2d layers in a model, including a root LbpLinear or LbpConv2d.
     *
     * @param model the model
     * @return the paths restored
     */
    public static List<String> undo(Model model) {
        return AdapterInjector.undo(model, LAYERS);
    }

    /**
     * The configuration of one replaced layer: its layout is the first matching per-pattern layout,
     * else the rewriter's, else the configuration's own, else the one the model states ({@link
     * TokenGrid}, or {@link LayerGrids} for this path); with none, the layer infers E + a square
     * grid at run time.
     */
    LbpConfig configFor(String path, TokenLayout fromModel) {
        TokenLayout l = layout;
        for (Map.Entry<TargetModules, TokenLayout> e : layouts.entrySet()) {
            if (e.getKey().matches(path)) {
                l = e.getValue();
                break;
            }
        }
        if (l == null && config.getLayout() == null) {
            l = fromModel;
        }
        return l == null ? config : config.toBuilder().optLayout(l).build();
    }

    /**
     * The configuration of one replaced 1x1 Conv2d: its grid is its input's H x W unless a
     * per-pattern layout names it (the rewriter's, the configuration's and the model's layouts
     * describe token sequences, not feature maps).
     */
    LbpConfig convConfigFor(String path) {
        for (Map.Entry<TargetModules, TokenLayout> e : layouts.entrySet()) {
            if (e.getKey().matches(path)) {
                return config.toBuilder().optLayout(e.getValue()).build();
            }
        }
        return config.toBuilder().optLayout(null).build();
    }

    /** Two rewriters are equal if they adapt the same layers the same way. */
    @Override
    public boolean equals(Object o) {
        if (!(o instanceof LbpRewriter)) {
            return false;
        }
        LbpRewriter r = (LbpRewriter) o;
        return targets.equals(r.targets)
                && exclude.equals(r.exclude)
                && config.equals(r.config)
                && Objects.equals(layout, r.layout)
                && layouts.equals(r.layouts)
                && allowUnmatched == r.allowUnmatched;
    }

    @Override
    public int hashCode() {
        return Objects.hash(targets, exclude, config, layout, layouts, allowUnmatched);
    }

    @Override
    public String toString() {
        return "LbpRewriter{targets=" + targets + ", exclude=" + exclude + ", " + config + "}";
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
         * Builds the rewriter. A layer's token layout is, in this order: the first per-pattern
         * layout that matches it, {@link #optLayout(TokenLayout)}, the configuration's own, the one
         * the model states ({@link TokenGrid}, {@link LayerGrids}); without any, the layer infers E
         * + a square grid.
         *
         * @return the rewriter
         * @throws IllegalArgumentException if the configuration and optLayout give two different
         *     layouts
         */
        public LbpRewriter build() {
            TokenLayout own = config.getLayout();
            if (own != null && layout != null && !own.equals(layout)) {
                throw new IllegalArgumentException(
                        "LbpRewriter: the LbpConfig has layout "
                                + own
                                + " and optLayout gives "
                                + layout
                                + "; set the layout in one place");
            }
            return new LbpRewriter(this);
        }
    }
}
