package io.github.lbpdjl.training;

import ai.djl.Model;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListener;
import io.github.lbpdjl.nn.LbpLayer;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.wht.BasisSelection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.IntFunction;

/**
 * A DJL {@link TrainingListener} that applies, schedules and reports LBP-WHT: the usual set of this
 * package's listeners behind one builder, run in this order.
 *
 * <ul>
 *   <li>{@link FineTuningListener}, onTrainingBegin (after {@code newTrainer}): the model preparer
 *       if one is set (e.g. {@code loraConfig::apply}), the {@link LbpRewriter} (layers adapted
 *       already are skipped), freezing the parameters whose paths (e.g. {@code
 *       blocks.0.norm1.gamma}) match {@link Builder#optFrozen(TargetModules)}; onTrainingEnd:
 *       optionally plain Linear layers again;
 *   <li>{@link NonFiniteCheckListener}, each step after backward: a NaN or Inf loss or LBP-layer
 *       gradient stops training with the step and the layers named, or skips the step ({@link
 *       NonFiniteAction});
 *   <li>{@link GradientEnergyListener}: the fraction of gradient energy kept, {@code ||P gy||^2 /
 *       ||gy||^2} per layer, sampled every N batches; an energy-adaptive selection chosen on
 *       calibration batches;
 *   <li>{@link BackwardFlopsListener}, each epoch: backward FLOPs of the LBP layers against full
 *       backprop;
 *   <li>{@link LbpScheduleListener}: full backprop for the first N steps or epochs (and the
 *       calibration batches), then LBP-WHT; a basis selection by epoch.
 * </ul>
 *
 * Reports go into {@code trainer.getMetrics()} (set one with {@code trainer.setMetrics}) and the
 * log. One listener serves one trainer. Use the listeners one by one for other combinations.
 */
public final class LbpTrainingListener implements StatefulListener {

    /** Metric: backward MFLOPs per sample of the LBP layers as configured now (unit: MFLOPs). */
    public static final String METRIC_LBP_MFLOPS = BackwardFlopsListener.METRIC_LBP_MFLOPS;

    /** Metric: backward MFLOPs per sample of the same layers with full backprop. */
    public static final String METRIC_FULL_MFLOPS = BackwardFlopsListener.METRIC_FULL_MFLOPS;

    /** Metric prefix: gradient energy kept, per layer path; without a suffix, the mean. */
    public static final String METRIC_ENERGY = GradientEnergyListener.METRIC_ENERGY;

    private final FineTuningListener fineTuning;
    private final NonFiniteCheckListener nonFinite;
    private final GradientEnergyListener energy;
    private final BackwardFlopsListener flops;
    private final LbpScheduleListener schedule;
    private final List<TrainingListener> all;

    private LbpTrainingListener(Builder b) {
        FineTuning.Builder ft = FineTuning.builder().optLbp(b.rewriter).optFrozen(b.frozen);
        if (b.preparer != null) {
            ft.addPreparer(b.preparer);
        }
        fineTuning = new FineTuningListener(ft.build(), b.undoAtEnd);
        nonFinite = new NonFiniteCheckListener(b.onNonFinite);
        energy =
                new GradientEnergyListener(
                                b.energyEvery,
                                b.adaptiveTarget,
                                b.adaptiveKMax,
                                b.calibrationBatches)
                        .setWarnBelow(b.warnBelow);
        flops = new BackwardFlopsListener();
        schedule =
                new LbpScheduleListener(
                        Math.max(b.fullBackpropSteps, b.calibrationBatches),
                        b.fullBackpropEpochs,
                        b.selectionByEpoch);
        all = List.of(fineTuning, nonFinite, energy, flops, schedule);
    }

    /**
     * Creates a builder; by default the listener only reports on LbpLinear layers already there.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** {@inheritDoc} */
    @Override
    public void onTrainingBegin(Trainer trainer) {
        all.forEach(l -> l.onTrainingBegin(trainer));
    }

    /** {@inheritDoc} */
    @Override
    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
        all.forEach(l -> l.onTrainingBatch(trainer, batchData));
    }

    /** {@inheritDoc} */
    @Override
    public void onValidationBatch(Trainer trainer, BatchData batchData) {
        all.forEach(l -> l.onValidationBatch(trainer, batchData));
    }

    /** {@inheritDoc} */
    @Override
    public void onEpoch(Trainer trainer) {
        all.forEach(l -> l.onEpoch(trainer));
    }

    /** {@inheritDoc} */
    @Override
    public void onTrainingEnd(Trainer trainer) {
        all.forEach(l -> l.onTrainingEnd(trainer));
    }

    /**
     * Returns the listener's state as JSON: the position in the schedules (steps, epochs), whether
     * calibration is over, the steps skipped, and each layer's configuration (the selection in use,
     * e.g. one chosen by energy) and whether LBP-WHT is on. {@link #restoreState} takes it back.
     *
     * @return the state
     */
    @Override
    public String getState() {
        com.google.gson.JsonObject o = States.parse(schedule.getState(), "schedule");
        o.addProperty("skippedSteps", nonFinite.getSkippedSteps());
        o.addProperty("calibrating", energy.isCalibrating());
        return o.toString();
    }

    /**
     * Restores a state from {@link #getState} to resume training. Call it after the trainer is
     * created (the listener has rewritten the model then) and before the first batch.
     *
     * @param json the state
     * @throws IllegalArgumentException if it is not such a state or names layers the model does not
     *     have as LbpLinear
     */
    @Override
    public void restoreState(String json) {
        try {
            schedule.restoreState(json);
            nonFinite.restoreState(json);
            energy.restoreState(json);
        } catch (ClassCastException | IllegalStateException | UnsupportedOperationException e) {
            throw new IllegalArgumentException(
                    "not an LBP-WHT listener state: " + e.getMessage(), e);
        }
    }

    /**
     * @return how many steps {@link NonFiniteAction#SKIP} has skipped
     */
    public int getSkippedSteps() {
        return nonFinite.getSkippedSteps();
    }

    /**
     * @return every LBP-WHT layer the listener manages (LbpLinear and LbpConv2d), by path
     */
    public Map<String, LbpLayer> getLbpLayers() {
        return schedule.getLayers();
    }

    /**
     * @return the LbpLinear layers the listener manages, by path; {@link #getLbpLayers()} has the
     *     1x1-convolution layers too
     */
    public Map<String, LbpLinear> getLayers() {
        Map<String, LbpLinear> out = new LinkedHashMap<>();
        schedule.getLayers()
                .forEach(
                        (path, l) -> {
                            if (l instanceof LbpLinear) {
                                out.put(path, (LbpLinear) l);
                            }
                        });
        return Collections.unmodifiableMap(out);
    }

    /**
     * @return per layer path, the mean gradient energy kept over the last finished epoch
     */
    public Map<String, Double> getLastEnergyKept() {
        return energy.getLastEnergyKept();
    }

    /**
     * @return per layer path, the energy kept by layers under the warning threshold, last epoch
     */
    public Map<String, Double> getLowEnergyLayers() {
        return energy.getLowEnergyLayers();
    }

    /**
     * @return backward MFLOPs per sample of the LBP layers at the last finished epoch
     */
    public double getLastLbpMflops() {
        return flops.getLastLbpMflops();
    }

    /**
     * @return backward MFLOPs per sample of the same layers with full backprop
     */
    public double getLastFullMflops() {
        return flops.getLastFullMflops();
    }

    /** Builds an {@link LbpTrainingListener}. */
    public static final class Builder {

        private Consumer<Model> preparer;
        private LbpRewriter rewriter;
        private TargetModules frozen;
        private int fullBackpropSteps;
        private int fullBackpropEpochs;
        private IntFunction<BasisSelection> selectionByEpoch;
        private int energyEvery;
        private double warnBelow = GradientEnergyListener.DEFAULT_WARN_BELOW;
        private double adaptiveTarget = 1;
        private int adaptiveKMax = Integer.MAX_VALUE;
        private int calibrationBatches;
        private boolean undoAtEnd;
        private NonFiniteAction onNonFinite = NonFiniteAction.STOP;

        Builder() {}

        /**
         * Sets an action run on the model at the start of training, after {@code newTrainer} and
         * before the rewriter, e.g. {@code loraConfig::apply} (LoRA layers, freezing, LBP-WHT on
         * the other layers); its changes to frozen parameters then survive PyTorch's newTrainer.
         *
         * @param preparer the action, or null
         * @return this builder
         */
        public Builder optModelPreparer(Consumer<Model> preparer) {
            this.preparer = preparer;
            return this;
        }

        /**
         * Sets the rewriter applied at the start of training if the model has no LbpLinear yet.
         *
         * @param rewriter the rewriter
         * @return this builder
         */
        public Builder optRewriter(LbpRewriter rewriter) {
            this.rewriter = rewriter;
            return this;
        }

        /**
         * Freezes, at the start of training, the parameters whose path matches, e.g. {@code
         * TargetModules.regex("blocks\\.[0-7]\\..*|.*norm.*")}.
         *
         * @param frozen the parameter paths to freeze
         * @return this builder
         */
        public Builder optFrozen(TargetModules frozen) {
            this.frozen = frozen;
            return this;
        }

        /**
         * Trains with full backprop for the first steps, then with LBP-WHT.
         *
         * @param steps the number of full-backprop steps
         * @return this builder
         */
        public Builder optFullBackpropSteps(int steps) {
            this.fullBackpropSteps =
                    LbpScheduleListener.requireNonNegative(steps, "full backprop steps");
            return this;
        }

        /**
         * Trains with full backprop for the first epochs, then with LBP-WHT.
         *
         * @param epochs the number of full-backprop epochs
         * @return this builder
         */
        public Builder optFullBackpropEpochs(int epochs) {
            this.fullBackpropEpochs =
                    LbpScheduleListener.requireNonNegative(epochs, "full backprop epochs");
            return this;
        }

        /**
         * Sets the basis selection of every LBP layer by epoch (0-based); null keeps the current.
         *
         * @param selectionByEpoch epoch to selection
         * @return this builder
         */
        public Builder optSelectionSchedule(IntFunction<BasisSelection> selectionByEpoch) {
            this.selectionByEpoch = selectionByEpoch;
            return this;
        }

        /**
         * Samples the gradient energy kept every N training batches (0, the default, never).
         *
         * @param everyNBatches the sampling period
         * @return this builder
         */
        public Builder optEnergySampling(int everyNBatches) {
            this.energyEvery =
                    LbpScheduleListener.requireNonNegative(everyNBatches, "energy sampling period");
            return this;
        }

        /**
         * Sets the gradient-energy fraction under which a layer is named in a warning each epoch,
         * with the remedies (default {@value GradientEnergyListener#DEFAULT_WARN_BELOW}; 0 never
         * warns). Needs energy sampling.
         *
         * @param fraction in [0, 1]
         * @return this builder
         */
        public Builder optLowEnergyWarning(double fraction) {
            this.warnBelow = GradientEnergyListener.requireWarnFraction(fraction);
            return this;
        }

        /**
         * Chooses each layer's bases from its measured gradient energy: the first calibration
         * batches train with full backprop while the energy of every basis is measured; then each
         * layer keeps the fewest bases reaching the target fraction, at most kMax.
         *
         * @param target the energy fraction to keep, in (0, 1]
         * @param kMax the most bases per layer
         * @param calibrationBatches the number of calibration batches, at least 1
         * @return this builder
         */
        public Builder optEnergyAdaptive(double target, int kMax, int calibrationBatches) {
            GradientEnergyListener.checkAdaptive(target, kMax, calibrationBatches, 1);
            this.adaptiveTarget = target;
            this.adaptiveKMax = kMax;
            this.calibrationBatches = calibrationBatches;
            return this;
        }

        /**
         * Restores plain Linear layers when training ends.
         *
         * @param undo whether to undo
         * @return this builder
         */
        public Builder optUndoAtEnd(boolean undo) {
            this.undoAtEnd = undo;
            return this;
        }

        /**
         * Sets what happens when a step's loss or a gradient of an LBP-WHT layer is NaN or infinite
         * (default {@link NonFiniteAction#STOP}).
         *
         * @param action stop, skip the step, or do not check
         * @return this builder
         */
        public Builder optOnNonFinite(NonFiniteAction action) {
            this.onNonFinite = Objects.requireNonNull(action, "action");
            return this;
        }

        /**
         * Builds the listener.
         *
         * @return the listener
         */
        public LbpTrainingListener build() {
            return new LbpTrainingListener(this);
        }
    }

    @Override
    public String toString() {
        return "LbpTrainingListener{" + fineTuning.getFineTuning() + "}";
    }
}
