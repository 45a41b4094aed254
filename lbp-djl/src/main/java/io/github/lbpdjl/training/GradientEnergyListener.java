package io.github.lbpdjl.training;

import ai.djl.metric.Metrics;
import ai.djl.ndarray.NDArray;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListenerAdapter;
import com.google.gson.JsonObject;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.nn.GradientProbe;
import io.github.lbpdjl.nn.LbpLayer;
import io.github.lbpdjl.wht.BasisSelection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Measures the gradient energy LBP-WHT keeps, {@code ||P gy||^2 / ||gy||^2} per LBP-WHT layer
 * ({@link LbpLayer}), on batches sampled every N steps, and reports its mean per layer each epoch
 * into {@code trainer.getMetrics()} ({@link #METRIC_ENERGY}) and the log. Optionally it first
 * calibrates an energy-adaptive selection: on the first batches it measures the energy of every
 * basis, then gives each layer the fewest bases that keep the target fraction. Calibrate on full
 * backprop by letting {@link LbpScheduleListener} hold LBP-WHT off for at least as many steps
 * ({@link LbpTrainingListener} does). It is the one listener that arms the layers' gradient probes.
 */
public final class GradientEnergyListener extends TrainingListenerAdapter
        implements StatefulListener {

    /** Metric prefix: gradient energy kept, per layer path; without a suffix, the mean. */
    public static final String METRIC_ENERGY = "lbp_energy_kept";

    /** The energy fraction under which a layer is reported as keeping little, by default. */
    public static final double DEFAULT_WARN_BELOW = 0.5;

    private static final Logger logger = LoggerFactory.getLogger(GradientEnergyListener.class);

    private final int every;
    private final double target;
    private final int kMax;
    private final int calibrationBatches;
    private Map<String, LbpLayer> layers = Collections.emptyMap();
    private final Map<String, double[]> sums = new LinkedHashMap<>();
    private final Map<String, double[]> calibration = new LinkedHashMap<>();
    private final Map<String, Double> lastEnergy = new LinkedHashMap<>();
    private final Map<String, Double> lowEnergy = new LinkedHashMap<>();
    private volatile double warnBelow = DEFAULT_WARN_BELOW;
    private int steps;
    private boolean calibrating;

    /**
     * Creates the listener.
     *
     * @param everyNBatches the sampling period (0: no sampling)
     * @param target the energy fraction an adaptive selection keeps, in (0, 1]
     * @param kMax the most bases an adaptive selection gives a layer, at least 1
     * @param calibrationBatches the batches measured before choosing (0: no adaptive selection)
     */
    public GradientEnergyListener(
            int everyNBatches, double target, int kMax, int calibrationBatches) {
        this.every =
                LbpScheduleListener.requireNonNegative(everyNBatches, "energy sampling period");
        checkAdaptive(target, kMax, calibrationBatches, 0);
        this.target = target;
        this.kMax = kMax;
        this.calibrationBatches = calibrationBatches;
    }

    /**
     * Creates a listener that only samples the energy kept.
     *
     * @param everyNBatches the sampling period, at least 1
     * @return the listener
     */
    public static GradientEnergyListener sampling(int everyNBatches) {
        return new GradientEnergyListener(everyNBatches, 1, Integer.MAX_VALUE, 0);
    }

    /** {@inheritDoc} */
    @Override
    public void onTrainingBegin(Trainer trainer) {
        layers = LbpLayers.of(trainer.getModel());
        calibrating = calibrationBatches > 0;
        armFor(0);
    }

    /** {@inheritDoc} */
    @Override
    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
        collect();
        steps++;
        if (calibrating && steps >= calibrationBatches) {
            chooseSelections();
            calibrating = false;
        }
        armFor(steps);
    }

    /** {@inheritDoc} */
    @Override
    public void onEpoch(Trainer trainer) {
        report(trainer.getMetrics());
    }

    /** {@inheritDoc} */
    @Override
    public void onTrainingEnd(Trainer trainer) {
        for (LbpLayer l : layers.values()) {
            l.takeGradientProbes();
        }
    }

    private void armFor(int step) {
        if (calibrating || (every > 0 && step % every == 0)) {
            for (LbpLayer l : layers.values()) {
                l.armProbe();
            }
        }
    }

    private void collect() {
        for (Map.Entry<String, LbpLayer> e : layers.entrySet()) {
            for (GradientProbe probe : e.getValue().takeGradientProbes()) {
                NDArray gy = probe.getOutputGradient();
                if (gy == null) {
                    continue;
                }
                LbpConfig c = probe.getConfig();
                if (calibrating) {
                    double[] en = GradientEnergy.perBasis(gy, probe.getLayout(), c);
                    double[] acc =
                            calibration.computeIfAbsent(e.getKey(), k -> new double[en.length]);
                    for (int i = 0; i < en.length; i++) {
                        acc[i] += en[i];
                    }
                } else {
                    double f =
                            GradientEnergy.keptFraction(
                                    gy,
                                    probe.getGather(),
                                    probe.getLayout().getExtraTokens(),
                                    c.getPatchSize());
                    double[] acc = sums.computeIfAbsent(e.getKey(), k -> new double[2]);
                    acc[0] += f;
                    acc[1] += 1;
                }
            }
        }
    }

    private void chooseSelections() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, LbpLayer> e : layers.entrySet()) {
            double[] energies = calibration.get(e.getKey());
            LbpConfig c = e.getValue().getConfig();
            if (energies == null) {
                logger.warn(
                        "LBP-WHT: no calibration gradient for {}; keeping {}",
                        e.getKey(),
                        c.getSelection());
                continue;
            }
            BasisSelection s = GradientEnergy.select(energies, c.getPatchSize(), target, kMax);
            e.getValue().setConfig(c.toBuilder().optSelection(s).build());
            sb.append(
                    String.format(Locale.ROOT, " %s:k=%d", e.getKey(), s.count(c.getPatchSize())));
        }
        calibration.clear();
        logger.info(
                "LBP-WHT: energy-adaptive selection (target {}, k <= {}) after {} batches:{}",
                target,
                kMax,
                calibrationBatches,
                sb);
    }

    private void report(Metrics metrics) {
        lastEnergy.clear();
        double sum = 0;
        String minPath = null;
        double min = 2;
        for (Map.Entry<String, double[]> e : sums.entrySet()) {
            double mean = e.getValue()[0] / e.getValue()[1];
            lastEnergy.put(e.getKey(), mean);
            sum += mean;
            if (mean < min) {
                min = mean;
                minPath = e.getKey();
            }
        }
        sums.clear();
        if (lastEnergy.isEmpty()) {
            return;
        }
        double mean = sum / lastEnergy.size();
        if (metrics != null) {
            for (Map.Entry<String, Double> e : lastEnergy.entrySet()) {
                metrics.addMetric(METRIC_ENERGY + "." + e.getKey(), e.getValue());
            }
            metrics.addMetric(METRIC_ENERGY, mean);
        }
        logger.info(
                String.format(
                        Locale.ROOT,
                        "LBP-WHT: gradient energy kept %.3f mean, %.3f min at %s",
                        mean,
                        min,
                        minPath));
        warnLowEnergy();
    }

    /** Names the layers that keep little gradient energy, and the remedies. */
    private void warnLowEnergy() {
        lowEnergy.clear();
        lastEnergy.forEach(
                (path, e) -> {
                    if (e < warnBelow) {
                        lowEnergy.put(path, e);
                    }
                });
        if (!lowEnergy.isEmpty()) {
            StringBuilder sb = new StringBuilder();
            lowEnergy.forEach(
                    (path, e) -> sb.append(String.format(Locale.ROOT, " %s %.3f,", path, e)));
            logger.warn(
                    "LBP-WHT: layers keeping less than {} of their gradient energy:{}; their"
                            + " gradients are far from exact backprop's. Remedies: more bases for"
                            + " them (a rewriter of their own with a higher order, applied first),"
                            + " the energy-adaptive selection (optEnergyAdaptive), or leaving them"
                            + " out (optExclude). See docs/GUIDE.md.",
                    warnBelow,
                    sb.substring(0, sb.length() - 1));
        }
    }

    /**
     * Sets the energy fraction under which a layer is named in a warning each epoch (default
     * {@value #DEFAULT_WARN_BELOW}; 0 never warns).
     *
     * @param fraction in [0, 1]
     * @return this listener
     */
    public GradientEnergyListener setWarnBelow(double fraction) {
        this.warnBelow = requireWarnFraction(fraction);
        return this;
    }

    /** Checks the arguments of an energy-adaptive selection, naming the one that is wrong. */
    static void checkAdaptive(double target, int kMax, int calibrationBatches, int minBatches) {
        if (!(target > 0 && target <= 1)) {
            throw new IllegalArgumentException("energy target must be in (0, 1], got " + target);
        }
        if (kMax < 1 || calibrationBatches < minBatches) {
            throw new IllegalArgumentException(
                    "kMax must be >= 1 and calibrationBatches >= "
                            + minBatches
                            + ", got "
                            + kMax
                            + " and "
                            + calibrationBatches);
        }
    }

    static double requireWarnFraction(double fraction) {
        if (!(fraction >= 0 && fraction <= 1)) {
            throw new IllegalArgumentException(
                    "energy warning threshold must be in [0, 1], got " + fraction);
        }
        return fraction;
    }

    /**
     * Returns the layers that kept less than the warning threshold of their gradient energy over
     * the last finished epoch.
     *
     * @return path to energy kept
     */
    public Map<String, Double> getLowEnergyLayers() {
        return Collections.unmodifiableMap(lowEnergy);
    }

    /**
     * Returns whether the first batches are still measuring the energy of every basis.
     *
     * @return true while calibrating
     */
    public boolean isCalibrating() {
        return calibrating;
    }

    /**
     * Returns per layer path the mean gradient energy kept over the last finished epoch.
     *
     * @return the means, empty if none was sampled
     */
    public Map<String, Double> getLastEnergyKept() {
        return Collections.unmodifiableMap(lastEnergy);
    }

    /** {@inheritDoc} */
    @Override
    public String getState() {
        JsonObject o = new JsonObject();
        o.addProperty("steps", steps);
        o.addProperty("calibrating", calibrating);
        return o.toString();
    }

    /** {@inheritDoc} */
    @Override
    public void restoreState(String json) {
        JsonObject o = States.parse(json, "gradient energy");
        steps = States.getInt(o, "steps");
        calibrating = States.getBoolean(o, "calibrating");
        for (LbpLayer l : layers.values()) {
            l.takeGradientProbes(); // disarm what onTrainingBegin armed for step 0
        }
        armFor(steps);
    }
}
