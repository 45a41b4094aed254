package io.github.lbpdjl.peft;

import ai.djl.Model;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The configuration of LoRA fine-tuning, as Hugging Face PEFT's LoraConfig: rank, alpha, dropout,
 * target modules, modules trained fully ("modules_to_save"), plus the optional LBP-WHT
 * configuration of the LoRA layers and an optional {@link LbpRewriter} for the remaining Linear
 * layers, so that one object says e.g. "LoRA r=8 on qkv and proj, LBP LP_L1-4 on every other linear
 * layer" and {@link #apply(Model)} does it in one call.
 *
 * <p>Immutable. {@link #toJson()} writes PEFT's adapter_config.json shape (peft_type "LORA", r,
 * lora_alpha, lora_dropout, target_modules, modules_to_save, bias "none") plus an "lbp" field; the
 * rewriter for the other layers is not part of the adapter and is not written.
 */
public final class LoraConfig {

    private final int rank;
    private final float alpha;
    private final float dropout;
    private final TargetModules targets;
    private final TargetModules exclude;
    private final List<String> modulesToSave;
    private final LbpConfig lbp;
    private final LbpRewriter lbpRewriter;
    private final boolean allowUnmatched;

    private LoraConfig(Builder b) {
        this.rank = b.rank;
        this.alpha = b.alpha;
        this.dropout = b.dropout;
        this.targets = b.targets;
        this.exclude = b.exclude;
        this.modulesToSave = Collections.unmodifiableList(new ArrayList<>(b.modulesToSave));
        this.lbp = b.lbp;
        this.lbpRewriter = b.lbpRewriter;
        this.allowUnmatched = b.allowUnmatched;
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
     * Applies this configuration to a model: LoRA layers first (with LBP-WHT inside if configured),
     * then freezing, then the LBP rewriter on the remaining Linear layers. Call it after {@code
     * newTrainer} on PyTorch models that were loaded (newTrainer unfreezes them), e.g. from {@code
     * LbpTrainingListener.Builder.optModelPreparer}.
     *
     * @param model the model
     * @return the adapted model's handle
     */
    public LoraModel apply(Model model) {
        return LoraModel.apply(model, this);
    }

    /**
     * @return the rank r
     */
    public int getRank() {
        return rank;
    }

    /**
     * @return LoRA alpha
     */
    public float getAlpha() {
        return alpha;
    }

    /**
     * @return the scaling alpha / r
     */
    public float getScaling() {
        return alpha / rank;
    }

    /**
     * @return the dropout rate on the adapter input
     */
    public float getDropout() {
        return dropout;
    }

    /**
     * @return the target modules
     */
    public TargetModules getTargets() {
        return targets;
    }

    /**
     * @return the modules never adapted, or null
     */
    public TargetModules getExclude() {
        return exclude;
    }

    /**
     * @return names of modules trained fully and saved with the adapter (PEFT list semantics)
     */
    public List<String> getModulesToSave() {
        return modulesToSave;
    }

    /**
     * @return the LBP-WHT configuration of the LoRA layers, or null for plain LoRA
     */
    public LbpConfig getLbp() {
        return lbp;
    }

    /**
     * @return the rewriter applied to the other Linear layers after LoRA, or null
     * @deprecated it is not part of the adapter (toJson does not write it); compose the two tuners
     *     with {@code io.github.lbpdjl.training.FineTuning} instead
     */
    @Deprecated
    public LbpRewriter getLbpRewriter() {
        return lbpRewriter;
    }

    /**
     * @return whether target patterns may match no module
     */
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
                        .optLbpRewriter(lbpRewriter)
                        .optAllowUnmatched(allowUnmatched);
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
     * Reads an adapter_config.json written by {@link #toJson()} or by PEFT (LoRA, bias "none").
     *
     * @param json the JSON text
     * @return the configuration
     * @throws IllegalArgumentException if the text is not a valid LoRA configuration
     */
    public static LoraConfig fromJson(String json) {
        return LoraConfigJson.fromJson(json);
    }

    static String layer(String name) {
        return name == null ? "LoRA" : "LoRA layer '" + name + "'";
    }

    /** Checks r, alpha and dropout, naming the layer (or "LoRA") in the message. */
    static void checkHyperparameters(String name, int rank, float alpha, float dropout) {
        if (rank < 1) {
            throw new IllegalArgumentException(layer(name) + ": rank r must be >= 1, got " + rank);
        }
        if (!(alpha > 0) || Float.isInfinite(alpha)) {
            throw new IllegalArgumentException(
                    layer(name) + ": alpha must be a finite number > 0, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException(
                    layer(name) + ": dropout must be in [0, 1), got " + dropout);
        }
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
                && Objects.equals(lbpRewriter, c.lbpRewriter);
    }

    @Override
    public int hashCode() {
        return Objects.hash(
                rank, alpha, dropout, targets, exclude, modulesToSave, lbp, lbpRewriter);
    }

    @Override
    public String toString() {
        return "LoraConfig{r="
                + rank
                + ", alpha="
                + alpha
                + ", dropout="
                + dropout
                + ", targets="
                + targets
                + (exclude == null ? "" : ", exclude=" + exclude)
                + (modulesToSave.isEmpty() ? "" : ", modulesToSave=" + modulesToSave)
                + ", lbp="
                + (lbp == null ? "none" : lbp)
                + (lbpRewriter == null
                        ? ""
                        : ", other layers: LBP-WHT "
                                + lbpRewriter.getConfig()
                                + " on "
                                + lbpRewriter.getTargets())
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
        private LbpRewriter lbpRewriter;
        private boolean allowUnmatched;

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
         * modules_to_save; a module matches a name as in {@link TargetModules#names}).
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
         * Sets a rewriter applied after LoRA to the remaining Linear layers (LoRA layers are
         * skipped by it), e.g. LBP LP_L1-4 on everything else.
         *
         * @param rewriter the rewriter, or null
         * @return this builder
         * @deprecated it is not part of the adapter (toJson does not write it); compose the two
         *     tuners with {@code io.github.lbpdjl.training.FineTuning} instead
         */
        @Deprecated
        public Builder optLbpRewriter(LbpRewriter rewriter) {
            this.lbpRewriter = rewriter;
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
         * Validates and builds the configuration.
         *
         * @return the configuration
         * @throws IllegalArgumentException if rank, alpha or dropout are out of range
         */
        public LoraConfig build() {
            checkHyperparameters(null, rank, alpha, dropout);
            return new LoraConfig(this);
        }
    }
}
