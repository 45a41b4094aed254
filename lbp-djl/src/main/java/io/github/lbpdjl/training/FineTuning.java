package io.github.lbpdjl.training;

import ai.djl.Model;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.github.lbpdjl.engine.LbpEngineAdapter;
import io.github.lbpdjl.engine.LbpEngines;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.peft.LoraConfig;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a model is prepared for fine-tuning, in one call: custom preparation steps, then LoRA (its
 * layers, with LBP-WHT inside if its configuration says so, and freezing everything but the
 * adapters and modules to save), then LBP-WHT on the Linear layers the rewriter targets, then
 * freezing the parameters whose paths match a pattern. Layers a step adapted already are skipped,
 * so applying it twice changes nothing.
 *
 * <pre>{@code
 * FineTuning ft = FineTuning.builder()
 *         .optLbp(LbpRewriter.builder().optTargets(TargetModules.names("qkv", "fc1")).build())
 *         .optFrozen(TargetModules.regex(".*norm.*"))
 *         .build();
 * Trainer trainer = model.newTrainer(config);  // PyTorch's newTrainer unfreezes a loaded model
 * ft.apply(model);                             // so prepare after it, or let a listener do it
 * }</pre>
 *
 * Immutable. {@link FineTuningListener} applies it at the start of training.
 */
public final class FineTuning {

    private static final Logger logger = LoggerFactory.getLogger(FineTuning.class);

    private final List<Consumer<Model>> preparers;
    private final LoraConfig lora;
    private final LbpRewriter lbp;
    private final TargetModules frozen;

    private FineTuning(Builder b) {
        this.preparers = List.copyOf(b.preparers);
        this.lora = b.lora;
        this.lbp = b.lbp;
        this.frozen = b.frozen;
    }

    /**
     * Creates a builder; the empty preparation changes nothing.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Prepares a model: the steps, LoRA, LBP-WHT, then freezing. Call it after {@code newTrainer}.
     *
     * @param model the model
     * @throws IllegalArgumentException if a target pattern matches nothing (unless allowed)
     */
    public void apply(Model model) {
        for (Consumer<Model> p : preparers) {
            p.accept(model);
        }
        if (lora != null) {
            logger.info("LoRA: {}", lora.apply(model).trainableParametersSummary());
        }
        if (lbp != null) {
            logger.info("LBP-WHT: {}", lbp.apply(model));
        }
        if (frozen != null) {
            freeze(model, frozen);
        }
    }

    /**
     * Freezes the parameters of a model whose paths match: module path and DJL parameter name, e.g.
     * {@code blocks.0.norm1.gamma}.
     *
     * @param model the model
     * @param frozen the parameter paths to freeze
     * @return the number of parameters frozen
     * @throws IllegalArgumentException if the pattern matches no parameter
     */
    public static int freeze(Model model, TargetModules frozen) {
        LbpEngineAdapter adapter =
                LbpEngines.forEngine(model.getNDManager().getEngine().getEngineName());
        int count = 0;
        for (BlockTree.Node n : BlockTree.walk(model.getBlock())) {
            for (Pair<String, Parameter> p : n.getBlock().getDirectParameters()) {
                String prefix = n.getPath().isEmpty() ? "" : n.getPath() + ".";
                if (frozen.matches(prefix + p.getKey())) {
                    adapter.freeze(p.getValue(), true);
                    count++;
                }
            }
        }
        if (count == 0) {
            throw new IllegalArgumentException(
                    "frozen parameters "
                            + frozen
                            + " match no parameter; parameter paths look like "
                            + examplePaths(model));
        }
        logger.info("LBP-WHT: froze {} parameters matching {}", count, frozen);
        return count;
    }

    private static List<String> examplePaths(Model model) {
        List<String> paths = new ArrayList<>();
        for (BlockTree.Node n : BlockTree.walk(model.getBlock())) {
            for (Pair<String, Parameter> p : n.getBlock().getDirectParameters()) {
                if (paths.size() < 8) {
                    paths.add(n.getPath().isEmpty() ? p.getKey() : n.getPath() + "." + p.getKey());
                }
            }
        }
        return paths;
    }

    /**
     * Returns the LBP-WHT rewriter.
     *
     * @return the rewriter, or null
     */
    public LbpRewriter getLbp() {
        return lbp;
    }

    /**
     * Returns the LoRA configuration.
     *
     * @return the configuration, or null
     */
    public LoraConfig getLora() {
        return lora;
    }

    /**
     * Returns the frozen parameter paths.
     *
     * @return the pattern, or null
     */
    public TargetModules getFrozen() {
        return frozen;
    }

    @Override
    public String toString() {
        return "FineTuning{lora="
                + lora
                + ", lbp="
                + lbp
                + ", frozen="
                + frozen
                + (preparers.isEmpty() ? "" : ", " + preparers.size() + " custom steps")
                + "}";
    }

    /** Builds a {@link FineTuning}. */
    public static final class Builder {

        private final List<Consumer<Model>> preparers = new ArrayList<>();
        private LoraConfig lora;
        private LbpRewriter lbp;
        private TargetModules frozen;

        Builder() {}

        /**
         * Adds a step run first, e.g. a custom tuner.
         *
         * @param preparer the step
         * @return this builder
         */
        public Builder addPreparer(Consumer<Model> preparer) {
            preparers.add(Objects.requireNonNull(preparer, "preparer"));
            return this;
        }

        /**
         * Sets LoRA: its layers (LBP-WHT inside them if the configuration has it) and freezing.
         *
         * @param lora the configuration, or null
         * @return this builder
         */
        public Builder optLora(LoraConfig lora) {
            this.lora = lora;
            return this;
        }

        /**
         * Sets the LBP-WHT rewriter of the Linear layers (applied after LoRA, whose layers it
         * skips).
         *
         * @param lbp the rewriter, or null
         * @return this builder
         */
        public Builder optLbp(LbpRewriter lbp) {
            this.lbp = lbp;
            return this;
        }

        /**
         * Freezes the parameters whose paths match, e.g. {@code
         * TargetModules.regex("blocks\\.[0-7]\\..*|.*norm.*")}.
         *
         * @param frozen the parameter paths, or null
         * @return this builder
         */
        public Builder optFrozen(TargetModules frozen) {
            this.frozen = frozen;
            return this;
        }

        /**
         * Builds the preparation.
         *
         * @return the preparation
         */
        public FineTuning build() {
            return new FineTuning(this);
        }
    }
}
