package io.github.lbpdjl.peft;

import ai.djl.Model;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.rewrite.TargetModules;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The configuration of LoRA fine-tuning, as Hugging Face PEFT's LoraConfig: rank, alpha, dropout,
 * target modules, modules trained fully ("modules_to_save"), plus the optional LBP-WHT
 * configuration of the LoRA layers; {@link #apply(Model)} adapts a model in one call. To put
 * LBP-WHT on the other layers too, compose with {@code io.github.lbpdjl.training.FineTuning}.
 *
 * <p>PEFT's rank_pattern, alpha_pattern (per-layer r and alpha) and use_rslora (alpha / sqrt(r))
 * are honoured. Immutable. {@link #toJson()} writes PEFT's adapter_config.json plus an "lbp" field;
 * {@link #fromJson(String)} refuses a field that changes the math and is not supported here.
 */
public final class LoraConfig {

    private final int rank;
    private final float alpha;
    private final float dropout;
    private final TargetModules targets;
    private final TargetModules exclude;
    private final List<String> modulesToSave;
    private final LbpConfig lbp;
    private final boolean allowUnmatched;
    private final boolean useRslora;
    private final Map<String, Integer> rankPattern;
    private final Map<String, Float> alphaPattern;

    private LoraConfig(Builder b) {
        this.rank = b.rank;
        this.alpha = b.alpha;
        this.dropout = b.dropout;
        this.targets = b.targets;
        this.exclude = b.exclude;
        this.modulesToSave = Collections.unmodifiableList(new ArrayList<>(b.modulesToSave));
        this.lbp = b.lbp;
        this.allowUnmatched = b.allowUnmatched;
        this.useRslora = b.useRslora;
        this.rankPattern = LoraPatterns.ranks(b.rankPattern);
        this.alphaPattern = LoraPatterns.alphas(b.alphaPattern);
    }

    /**
     * Creates a builder: r = 8, alpha = 8, dropout 0, targets all-linear (without the output layer,
     * as in PEFT), nothing excluded, no modules to save, plain LoRA.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Applies this configuration to a model: LoRA layers (with LBP-WHT inside if configured), then
     * freezing. Call it after {@code newTrainer} on PyTorch models that were loaded (newTrainer
     * unfreezes them), e.g. from {@code LbpTrainingListener.Builder.optModelPreparer}.
     *
     * @param model the model
     * @return the adapted model's handle
     */
    public LoraModel apply(Model model) {
        return LoraModel.apply(model, this);
    }

    /** Returns the rank r. */
    public int getRank() {
        return rank;
    }

    /** Returns LoRA alpha. */
    public float getAlpha() {
        return alpha;
    }

    /** Returns the scaling of r and alpha: alpha / r, or alpha / sqrt(r) with rsLoRA. */
    public float getScaling() {
        return LoraPatterns.scaling(rank, alpha, useRslora);
    }

    /** Returns whether the scaling is alpha / sqrt(r) (PEFT's use_rslora), not alpha / r. */
    public boolean isUseRslora() {
        return useRslora;
    }

    /** Returns the ranks that differ from r, by PEFT pattern key in order (rank_pattern). */
    public Map<String, Integer> getRankPattern() {
        return rankPattern;
    }

    /** Returns the alphas that differ from alpha, by PEFT pattern key in order (alpha_pattern). */
    public Map<String, Float> getAlphaPattern() {
        return alphaPattern;
    }

    /**
     * Returns the rank of the layer at a path: that of the first rank_pattern key that matches it
     * as PEFT matches it ({@code re.match(r"(.*\.)?(KEY)$", path)}), else r.
     */
    public int getRank(String path) {
        return LoraPatterns.lookup(rankPattern, path, rank);
    }

    /** Returns the alpha of the layer at a path, as {@link #getRank(String)} for alpha_pattern. */
    public float getAlpha(String path) {
        return LoraPatterns.lookup(alphaPattern, path, alpha);
    }

    /** Returns the scaling of the layer at a path, from its rank and alpha. */
    public float getScaling(String path) {
        return LoraPatterns.scaling(getRank(path), getAlpha(path), useRslora);
    }

    /** Returns the dropout rate on the adapter input. */
    public float getDropout() {
        return dropout;
    }

    /** Returns the target modules. */
    public TargetModules getTargets() {
        return targets;
    }

    /** Returns the modules never adapted, or null. */
    public TargetModules getExclude() {
        return exclude;
    }

    /** Returns names of modules trained fully and saved with the adapter (a path suffix). */
    public List<String> getModulesToSave() {
        return modulesToSave;
    }

    /** Returns the LBP-WHT configuration of the LoRA layers, or null for plain LoRA. */
    public LbpConfig getLbp() {
        return lbp;
    }

    /** Returns whether target patterns may match no module. */
    public boolean isAllowUnmatched() {
        return allowUnmatched;
    }

    /**
     * Returns a builder that starts from this configuration.
     *
     * @return a new builder
     */
    public Builder toBuilder() {
        Builder b =
                builder()
                        .optRank(rank)
                        .optAlpha(alpha)
                        .optDropout(dropout)
                        .optTargets(targets)
                        .optExclude(exclude)
                        .optLbp(lbp)
                        .optAllowUnmatched(allowUnmatched)
                        .optUseRslora(useRslora)
                        .optRankPattern(rankPattern)
                        .optAlphaPattern(alphaPattern);
        b.modulesToSave.addAll(modulesToSave);
        return b;
    }

    /**
     * Writes the configuration in PEFT's adapter_config.json shape plus "lbp" (an {@link LbpConfig}
     * JSON object or null).
     *
     * @return the JSON text
     */
    public String toJson() {
        return LoraConfigJson.toJson(this);
    }

    /**
     * Reads an adapter_config.json written by {@link #toJson()} or by PEFT (docs/LORA.md lists the
     * fields honoured and those refused, e.g. use_dora: a field that changes the math is never
     * ignored).
     *
     * @param json the JSON text
     * @return the configuration
     * @throws IllegalArgumentException if the text is not a valid LoRA configuration or sets a
     *     field not supported here, naming the field and its value
     */
    public static LoraConfig fromJson(String json) {
        return LoraConfigJson.fromJson(json);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof LoraConfig)) {
            return false;
        }
        LoraConfig c = (LoraConfig) o;
        return rank == c.rank
                && alpha == c.alpha
                && dropout == c.dropout
                && targets.equals(c.targets)
                && Objects.equals(exclude, c.exclude)
                && modulesToSave.equals(c.modulesToSave)
                && Objects.equals(lbp, c.lbp)
                && useRslora == c.useRslora
                && rankPattern.equals(c.rankPattern)
                && alphaPattern.equals(c.alphaPattern);
    }

    @Override
    public int hashCode() {
        return 31 * Objects.hash(rank, alpha, dropout, targets, exclude, modulesToSave, lbp)
                + Objects.hash(useRslora, rankPattern, alphaPattern);
    }

    @Override
    public String toString() {
        return "LoraConfig{r="
                + rank
                + ", alpha="
                + alpha
                + ", dropout="
                + dropout
                + (useRslora ? ", rslora" : "")
                + (rankPattern.isEmpty() ? "" : ", rank_pattern=" + rankPattern)
                + (alphaPattern.isEmpty() ? "" : ", alpha_pattern=" + alphaPattern)
                + ", targets="
                + targets
                + (exclude == null ? "" : ", exclude=" + exclude)
                + (modulesToSave.isEmpty() ? "" : ", modulesToSave=" + modulesToSave)
                + ", lbp="
                + (lbp == null ? "none" : lbp)
                + "}";
    }

    /** Builds a {@link LoraConfig}; {@link #build()} validates. */
    public static final class Builder {

        private int rank = 8;
        private float alpha = 8;
        private float dropout;
        private TargetModules targets = TargetModules.allLinear();
        private TargetModules exclude;
        private final List<String> modulesToSave = new ArrayList<>();
        private LbpConfig lbp;
        private boolean allowUnmatched;
        private boolean useRslora;
        private Map<String, Integer> rankPattern = Map.of();
        private Map<String, Float> alphaPattern = Map.of();

        Builder() {}

        /**
         * Sets the rank r (default 8).
         *
         * @param rank at least 1
         * @return this builder
         */
        public Builder optRank(int rank) {
            this.rank = rank;
            return this;
        }

        /**
         * Sets LoRA alpha (default 8); the adapter is scaled by alpha / r.
         *
         * @param alpha &gt; 0
         * @return this builder
         */
        public Builder optAlpha(float alpha) {
            this.alpha = alpha;
            return this;
        }

        /**
         * Sets the dropout rate on the adapter input (default 0).
         *
         * @param dropout in [0, 1)
         * @return this builder
         */
        public Builder optDropout(float dropout) {
            this.dropout = dropout;
            return this;
        }

        /**
         * Sets the Linear layers to adapt (default all-linear, which leaves out the output layer).
         *
         * @param targets the targets
         * @return this builder
         */
        public Builder optTargets(TargetModules targets) {
            this.targets = Objects.requireNonNull(targets, "targets");
            return this;
        }

        /**
         * Sets modules never adapted (default none).
         *
         * @param exclude the exclusions, or null
         * @return this builder
         */
        public Builder optExclude(TargetModules exclude) {
            this.exclude = exclude;
            return this;
        }

        /**
         * Sets the modules trained fully and saved with the adapter, e.g. "head" (PEFT's
         * modules_to_save: as PEFT, every module whose path ends with a name, dot or not).
         *
         * @param names module names
         * @return this builder
         */
        public Builder optModulesToSave(String... names) {
            modulesToSave.clear();
            for (String n : names) {
                if (n == null || n.isBlank()) {
                    throw new IllegalArgumentException("modules_to_save contains an empty name");
                }
                modulesToSave.add(n);
            }
            return this;
        }

        /**
         * Sets the LBP-WHT configuration of the LoRA layers' training forward (null: plain LoRA).
         *
         * @param lbp the configuration, or null
         * @return this builder
         */
        public Builder optLbp(LbpConfig lbp) {
            this.lbp = lbp;
            return this;
        }

        /**
         * Allows target patterns and modules_to_save names that match nothing (default: error).
         *
         * @param allow whether to allow
         * @return this builder
         */
        public Builder optAllowUnmatched(boolean allow) {
            this.allowUnmatched = allow;
            return this;
        }

        /**
         * Sets rsLoRA's scaling alpha / sqrt(r) instead of alpha / r (PEFT's use_rslora).
         *
         * @param useRslora whether to scale by alpha / sqrt(r) (default false)
         * @return this builder
         */
        public Builder optUseRslora(boolean useRslora) {
            this.useRslora = useRslora;
            return this;
        }

        /**
         * Sets per-layer ranks (PEFT's rank_pattern), see {@link LoraConfig#getRank(String)}.
         *
         * @param pattern key (a regular expression, e.g. "qkv" or "blocks\\.0\\..*") to rank
         * @return this builder
         */
        public Builder optRankPattern(Map<String, Integer> pattern) {
            this.rankPattern = new LinkedHashMap<>(pattern);
            return this;
        }

        /**
         * Sets per-layer alphas (PEFT's alpha_pattern), matched as {@link #optRankPattern}.
         *
         * @param pattern key to alpha
         * @return this builder
         */
        public Builder optAlphaPattern(Map<String, Float> pattern) {
            this.alphaPattern = new LinkedHashMap<>(pattern);
            return this;
        }

        /**
         * Validates and builds the configuration.
         *
         * @return the configuration
         * @throws IllegalArgumentException if rank, alpha or dropout are out of range, or a pattern
         *     key or value is bad
         */
        public LoraConfig build() {
            LoraPatterns.checkHyperparameters(null, rank, alpha, dropout);
            return new LoraConfig(this);
        }
    }
}
