package io.github.lbpdjl.training;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.TrainingDivergedException;
import ai.djl.metric.Metrics;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListener;
import ai.djl.util.Pair;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.engine.LbpEngineAdapter;
import io.github.lbpdjl.engine.LbpEngines;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.nn.BackwardFlops;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A DJL {@link TrainingListener} that applies, schedules and reports LBP-WHT.
 *
 * <ul>
 *   <li>onTrainingBegin (after {@code newTrainer}): runs the model preparer if one is set (e.g.
 *       {@code loraConfig::apply}: LoRA, freezing and LBP-WHT on the other layers), then rewrites
 *       the model with the given {@link LbpRewriter} unless it already has LbpLinear layers, and
 *       freezes the parameters whose paths (e.g. {@code blocks.0.norm1.gamma}) match {@link
 *       Builder#optFrozen(TargetModules)};
 *   <li>schedules: full backprop for the first N steps or epochs, then LBP-WHT; a basis selection
 *       by epoch; an energy-adaptive selection chosen on calibration batches;
 *   <li>each epoch: backward FLOPs of the LBP layers against full backprop and the fraction of
 *       gradient energy kept, {@code ||P gy||^2 / ||gy||^2} per layer, sampled every N batches,
 *       into {@code trainer.getMetrics()} and one log line;
 *   <li>each step, after backward: a NaN or Inf loss or LBP-layer gradient stops training with the
 *       step and the layers named, or skips the step ({@link NonFiniteAction});
 *   <li>onTrainingEnd: optionally restores plain Linear layers.
 * </ul>
 *
 * One listener serves one trainer.
 */
public final class LbpTrainingListener implements TrainingListener {

    private static final Logger logger = LoggerFactory.getLogger(LbpTrainingListener.class);

    /** Metric: backward MFLOPs per sample of the LBP layers as configured now (unit: MFLOPs). */
    public static final String METRIC_LBP_MFLOPS = "lbp_backward_mflops";

    /** Metric: backward MFLOPs per sample of the same layers with full backprop. */
    public static final String METRIC_FULL_MFLOPS = "lbp_full_backward_mflops";

    /** Metric prefix: gradient energy kept, per layer path; without a suffix, the mean. */
    public static final String METRIC_ENERGY = "lbp_energy_kept";

    private final Consumer<Model> preparer;
    private final LbpRewriter rewriter;
    private final TargetModules frozen;
    private final int fullBackpropSteps;
    private final int fullBackpropEpochs;
    private final IntFunction<BasisSelection> selectionByEpoch;
    private final int energyEvery;
    private final double adaptiveTarget;
    private final int adaptiveKMax;
    private final int calibrationBatches;
    private final boolean undoAtEnd;
    private final NonFiniteAction onNonFinite;

    private Map<String, LbpLinear> layers = Collections.emptyMap();
    private final Map<String, double[]> energySums = new LinkedHashMap<>();
    private final Map<String, double[]> calibration = new LinkedHashMap<>();
    private final Map<String, Double> lastEnergy = new LinkedHashMap<>();
    private LbpEngineAdapter adapter;
    private int steps;
    private int epochs;
    private int skippedSteps;
    private boolean calibrating;
    private double lastLbpMflops;
    private double lastFullMflops;

    private LbpTrainingListener(Builder b) {
        this.preparer = b.preparer;
        this.rewriter = b.rewriter;
        this.frozen = b.frozen;
        this.fullBackpropSteps = b.fullBackpropSteps;
        this.fullBackpropEpochs = b.fullBackpropEpochs;
        this.selectionByEpoch = b.selectionByEpoch;
        this.energyEvery = b.energyEvery;
        this.adaptiveTarget = b.adaptiveTarget;
        this.adaptiveKMax = b.adaptiveKMax;
        this.calibrationBatches = b.calibrationBatches;
        this.undoAtEnd = b.undoAtEnd;
        this.onNonFinite = b.onNonFinite;
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
        Model model = trainer.getModel();
        adapter = LbpEngines.forEngine(trainer.getManager().getEngine().getEngineName());
        if (preparer != null) {
            preparer.accept(model);
        }
        layers = BlockTree.find(model.getBlock(), LbpLinear.class);
        if (layers.isEmpty() && rewriter != null) {
            logger.info("LBP-WHT: {}", rewriter.apply(model));
            layers = BlockTree.find(model.getBlock(), LbpLinear.class);
        } else if (rewriter != null) {
            logger.warn(
                    "LBP-WHT: the model already has {} LbpLinear layers; not rewriting it again",
                    layers.size());
        }
        if (layers.isEmpty()) {
            logger.warn("LBP-WHT: the model has no LbpLinear layer; nothing to schedule or report");
        }
        if (frozen != null) {
            freeze(model);
        }
        applySelection(0);
        calibrating = calibrationBatches > 0;
        setEnabled(!calibrating && fullBackpropSteps == 0 && fullBackpropEpochs == 0);
        armProbesFor(0);
    }

    private void freeze(Model model) {
        int count = 0;
        for (BlockTree.Node n : BlockTree.walk(model.getBlock())) {
            for (Pair<String, Parameter> p : n.getBlock().getDirectParameters()) {
                String path = n.getPath().isEmpty() ? p.getKey() : n.getPath() + "." + p.getKey();
                if (frozen.matches(path)) {
                    adapter.freeze(p.getValue(), true);
                    count++;
                }
            }
        }
        logger.info("LBP-WHT: froze {} parameters matching {}", count, frozen);
    }

    /** {@inheritDoc} */
    @Override
    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
        checkFinite(trainer, batchData);
        collectProbes();
        steps++;
        if (calibrating && steps >= calibrationBatches) {
            chooseAdaptiveSelections();
            calibrating = false;
        }
        if (!calibrating && steps >= fullBackpropSteps && epochs >= fullBackpropEpochs) {
            setEnabled(true);
        }
        armProbesFor(steps);
    }

    /** {@inheritDoc} */
    @Override
    public void onValidationBatch(Trainer trainer, BatchData batchData) {}

    /** {@inheritDoc} */
    @Override
    public void onEpoch(Trainer trainer) {
        report(trainer.getMetrics());
        epochs++;
        if (!calibrating && steps >= fullBackpropSteps && epochs >= fullBackpropEpochs) {
            setEnabled(true);
        }
        applySelection(epochs);
    }

    /** {@inheritDoc} */
    @Override
    public void onTrainingEnd(Trainer trainer) {
        for (LbpLinear l : layers.values()) {
            l.takeProbes();
        }
        if (undoAtEnd) {
            List<String> restored = LbpRewriter.undo(trainer.getModel());
            logger.info("LBP-WHT: restored {} plain Linear layers", restored.size());
        }
    }

    private void setEnabled(boolean enabled) {
        for (LbpLinear l : layers.values()) {
            l.setLbpEnabled(enabled);
        }
    }

    private void applySelection(int epoch) {
        if (selectionByEpoch == null) {
            return;
        }
        BasisSelection s = selectionByEpoch.apply(epoch);
        if (s == null) {
            return;
        }
        for (LbpLinear l : layers.values()) {
            l.setConfig(l.getConfig().toBuilder().optSelection(s).build());
        }
        logger.info("LBP-WHT: epoch {} uses {}", epoch, s);
    }

    private void armProbesFor(int step) {
        boolean sample = calibrating || (energyEvery > 0 && step % energyEvery == 0);
        if (sample) {
            for (LbpLinear l : layers.values()) {
                l.armProbe();
            }
        }
    }

    /**
     * Checks the loss and the LBP layers' gradients of the step just taken, see {@link
     * NonFiniteAction}.
     */
    private void checkFinite(Trainer trainer, BatchData batchData) {
        if (onNonFinite == NonFiniteAction.OFF) {
            return;
        }
        List<String> bad = new ArrayList<>();
        for (Device d : batchData.getLabels().keySet()) {
            NDList predictions = batchData.getPredictions().get(d);
            if (predictions == null) {
                continue;
            }
            try (NDArray loss =
                    trainer.getLoss().evaluate(batchData.getLabels().get(d), predictions)) {
                float v = loss.toType(DataType.FLOAT32, false).getFloat();
                if (!Float.isFinite(v)) {
                    bad.add("the loss (" + v + ")");
                }
            }
        }
        for (Map.Entry<String, LbpLinear> e : layers.entrySet()) {
            for (Pair<String, Parameter> p : e.getValue().getParameters()) {
                NDArray w = p.getValue().isInitialized() ? p.getValue().getArray() : null;
                if (w == null || !p.getValue().requiresGradient() || !w.hasGradient()) {
                    continue;
                }
                try (NDArray g = w.getGradient()) {
                    if (!isAllFinite(g)) {
                        bad.add(e.getKey() + "." + p.getKey() + " gradient");
                    }
                }
            }
        }
        if (bad.isEmpty()) {
            return;
        }
        String what =
                String.format(
                        Locale.ROOT,
                        "LBP-WHT: NaN or Inf at step %d (epoch %d): %s",
                        steps + 1,
                        epochs + 1,
                        String.join(", ", bad));
        if (onNonFinite == NonFiniteAction.STOP) {
            throw new TrainingDivergedException(what);
        }
        skippedSteps++;
        logger.warn(
                "{}; zeroing this step's gradients ({} steps skipped so far)", what, skippedSteps);
        LbpEngineAdapter.zeroGradients(trainer.getModel().getBlock());
    }

    /**
     * Whether every entry of an array is finite. One reduction without a copy: the norm of finite
     * entries is finite unless their squares overflow, so only a non-finite norm is checked entry
     * by entry ({@code g - g} is 0 where g is finite and NaN elsewhere). The norm rather than the
     * sum: as fast on PyTorch, a third faster on MXNet.
     *
     * @param g the array
     * @return true if no entry is NaN or infinite
     */
    static boolean isAllFinite(NDArray g) {
        try (NDArray norm = g.norm()) {
            if (Float.isFinite(norm.toType(DataType.FLOAT32, false).getFloat())) {
                return true;
            }
        }
        try (NDArray zero = g.sub(g);
                NDArray sum = zero.sum()) {
            return Float.isFinite(sum.toType(DataType.FLOAT32, false).getFloat());
        }
    }

    private void collectProbes() {
        for (Map.Entry<String, LbpLinear> e : layers.entrySet()) {
            LbpLinear layer = e.getValue();
            for (NDArray[] rec : layer.takeProbes()) {
                NDArray probe = rec[0];
                if (!probe.hasGradient()) {
                    continue;
                }
                NDArray gy = probe.getGradient();
                TokenLayout layout = layer.layoutFor(gy.getShape().get(1));
                LbpConfig c = layer.getConfig();
                if (calibrating) {
                    double[] en = GradientEnergy.perBasis(gy, layout, c);
                    double[] acc =
                            calibration.computeIfAbsent(e.getKey(), k -> new double[en.length]);
                    for (int i = 0; i < en.length; i++) {
                        acc[i] += en[i];
                    }
                } else {
                    double f =
                            GradientEnergy.keptFraction(
                                    gy, rec[1], layout.getExtraTokens(), c.getPatchSize());
                    double[] acc = energySums.computeIfAbsent(e.getKey(), k -> new double[2]);
                    acc[0] += f;
                    acc[1] += 1;
                }
            }
        }
    }

    private void chooseAdaptiveSelections() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, LbpLinear> e : layers.entrySet()) {
            double[] energies = calibration.get(e.getKey());
            if (energies == null) {
                logger.warn(
                        "LBP-WHT: no calibration gradient for {}; keeping {}",
                        e.getKey(),
                        e.getValue().getConfig().getSelection());
                continue;
            }
            LbpConfig c = e.getValue().getConfig();
            BasisSelection s =
                    GradientEnergy.select(energies, c.getPatchSize(), adaptiveTarget, adaptiveKMax);
            e.getValue().setConfig(c.toBuilder().optSelection(s).build());
            sb.append(
                    String.format(Locale.ROOT, " %s:k=%d", e.getKey(), s.count(c.getPatchSize())));
        }
        calibration.clear();
        logger.info(
                "LBP-WHT: energy-adaptive selection (target {}, k <= {}) after {} batches:{}",
                adaptiveTarget,
                adaptiveKMax,
                calibrationBatches,
                sb);
    }

    private void report(Metrics metrics) {
        long lbp = 0;
        long full = 0;
        for (LbpLinear l : layers.values()) {
            Shape s = l.getLastTrainingShape();
            if (s == null) {
                continue;
            }
            long tokens = s.get(s.dimension() - 2);
            Shape w = l.getParameters().get("weight").getShape();
            BackwardFlops f =
                    BackwardFlops.of(l.layoutFor(tokens), l.getConfig(), w.get(1), w.get(0));
            full += f.getFull();
            lbp += l.isLbpEnabled() ? f.getLbp() : f.getFull();
        }
        lastLbpMflops = lbp / 1e6;
        lastFullMflops = full / 1e6;
        lastEnergy.clear();
        double sum = 0;
        String minPath = null;
        double min = 2;
        for (Map.Entry<String, double[]> e : energySums.entrySet()) {
            double mean = e.getValue()[0] / e.getValue()[1];
            lastEnergy.put(e.getKey(), mean);
            sum += mean;
            if (mean < min) {
                min = mean;
                minPath = e.getKey();
            }
        }
        energySums.clear();
        double meanEnergy = lastEnergy.isEmpty() ? Double.NaN : sum / lastEnergy.size();
        if (metrics != null) {
            metrics.addMetric(METRIC_LBP_MFLOPS, lastLbpMflops);
            metrics.addMetric(METRIC_FULL_MFLOPS, lastFullMflops);
            for (Map.Entry<String, Double> e : lastEnergy.entrySet()) {
                metrics.addMetric(METRIC_ENERGY + "." + e.getKey(), e.getValue());
            }
            if (!lastEnergy.isEmpty()) {
                metrics.addMetric(METRIC_ENERGY, meanEnergy);
            }
        }
        logger.info(
                String.format(
                        Locale.ROOT,
                        "LBP-WHT epoch %d: backward %.1f of %.1f MFLOPs/sample (%.1f%%) in %d"
                                + " layers%s",
                        epochs + 1,
                        lastLbpMflops,
                        lastFullMflops,
                        full == 0 ? 100.0 : 100.0 * lbp / full,
                        layers.size(),
                        lastEnergy.isEmpty()
                                ? ""
                                : String.format(
                                        Locale.ROOT,
                                        "; gradient energy kept %.3f mean, %.3f min at %s",
                                        meanEnergy,
                                        min,
                                        minPath)));
    }

    /**
     * Returns the listener's state as JSON: the position in the schedules (steps, epochs), whether
     * calibration is over, and each layer's configuration (the selection in use, e.g. one chosen by
     * energy) and whether LBP-WHT is on. {@link #restoreState} takes it back.
     *
     * @return the state
     */
    public String getState() {
        JsonObject o = new JsonObject();
        o.addProperty("steps", steps);
        o.addProperty("epochs", epochs);
        o.addProperty("skippedSteps", skippedSteps);
        o.addProperty("calibrating", calibrating);
        JsonObject ls = new JsonObject();
        for (Map.Entry<String, LbpLinear> e : layers.entrySet()) {
            JsonObject l = new JsonObject();
            l.add("config", JsonParser.parseString(e.getValue().getConfig().toJson()));
            l.addProperty("enabled", e.getValue().isLbpEnabled());
            ls.add(e.getKey(), l);
        }
        o.add("layers", ls);
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
    public void restoreState(String json) {
        JsonObject o;
        try {
            o = JsonParser.parseString(json).getAsJsonObject();
            JsonObject ls = o.getAsJsonObject("layers");
            if (!ls.keySet().equals(layers.keySet())) {
                throw new IllegalArgumentException(
                        "LBP-WHT state has layers "
                                + ls.keySet()
                                + ", the model has "
                                + layers.keySet());
            }
            for (Map.Entry<String, LbpLinear> e : layers.entrySet()) {
                JsonObject l = ls.getAsJsonObject(e.getKey());
                e.getValue().setConfig(LbpConfig.fromJson(l.get("config").toString()));
                e.getValue().setLbpEnabled(l.get("enabled").getAsBoolean());
            }
            steps = o.get("steps").getAsInt();
            epochs = o.get("epochs").getAsInt();
            skippedSteps = o.get("skippedSteps").getAsInt();
            calibrating = o.get("calibrating").getAsBoolean();
        } catch (IllegalStateException
                | NullPointerException
                | UnsupportedOperationException
                | com.google.gson.JsonParseException e) {
            throw new IllegalArgumentException(
                    "not an LBP-WHT listener state: " + e.getMessage(), e);
        }
        armProbesFor(steps);
    }

    /**
     * @return how many steps {@link NonFiniteAction#SKIP} has skipped
     */
    public int getSkippedSteps() {
        return skippedSteps;
    }

    /**
     * @return the LbpLinear layers the listener manages, by path
     */
    public Map<String, LbpLinear> getLayers() {
        return Collections.unmodifiableMap(layers);
    }

    /**
     * @return per layer path, the mean gradient energy kept over the last finished epoch
     */
    public Map<String, Double> getLastEnergyKept() {
        return Collections.unmodifiableMap(lastEnergy);
    }

    /**
     * @return backward MFLOPs per sample of the LBP layers at the last finished epoch
     */
    public double getLastLbpMflops() {
        return lastLbpMflops;
    }

    /**
     * @return backward MFLOPs per sample of the same layers with full backprop
     */
    public double getLastFullMflops() {
        return lastFullMflops;
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
            this.fullBackpropSteps = requireNonNegative(steps, "full backprop steps");
            return this;
        }

        /**
         * Trains with full backprop for the first epochs, then with LBP-WHT.
         *
         * @param epochs the number of full-backprop epochs
         * @return this builder
         */
        public Builder optFullBackpropEpochs(int epochs) {
            this.fullBackpropEpochs = requireNonNegative(epochs, "full backprop epochs");
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
            this.energyEvery = requireNonNegative(everyNBatches, "energy sampling period");
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
            if (!(target > 0 && target <= 1)) {
                throw new IllegalArgumentException(
                        "energy target must be in (0, 1], got " + target);
            }
            if (kMax < 1 || calibrationBatches < 1) {
                throw new IllegalArgumentException(
                        "kMax and calibrationBatches must be >= 1, got "
                                + kMax
                                + " and "
                                + calibrationBatches);
            }
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

        private static int requireNonNegative(int v, String what) {
            if (v < 0) {
                throw new IllegalArgumentException(what + " must be >= 0, got " + v);
            }
            return v;
        }
    }

    @Override
    public String toString() {
        return "LbpTrainingListener{rewriter=" + Objects.toString(rewriter) + "}";
    }
}
