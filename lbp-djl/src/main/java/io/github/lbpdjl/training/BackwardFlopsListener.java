package io.github.lbpdjl.training;

import ai.djl.metric.Metrics;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListenerAdapter;
import io.github.lbpdjl.nn.BackwardFlops;
import io.github.lbpdjl.nn.LbpLayer;
import java.util.Collection;
import java.util.Collections;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports each epoch the backward FLOPs per sample of the LBP-WHT layers as configured now (layers
 * switched off count as full backprop) and of the same layers with full backprop, into {@code
 * trainer.getMetrics()} ({@link #METRIC_LBP_MFLOPS}, {@link #METRIC_FULL_MFLOPS}) and the log.
 */
public final class BackwardFlopsListener extends TrainingListenerAdapter {

    /** Metric: backward MFLOPs per sample of the LBP layers as configured now (unit: MFLOPs). */
    public static final String METRIC_LBP_MFLOPS = "lbp_backward_mflops";

    /** Metric: backward MFLOPs per sample of the same layers with full backprop. */
    public static final String METRIC_FULL_MFLOPS = "lbp_full_backward_mflops";

    private static final Logger logger = LoggerFactory.getLogger(BackwardFlopsListener.class);

    private Collection<LbpLayer> layers = Collections.emptyList();
    private int epochs;
    private double lastLbpMflops;
    private double lastFullMflops;

    /** {@inheritDoc} */
    @Override
    public void onTrainingBegin(Trainer trainer) {
        layers = LbpLayers.of(trainer.getModel()).values();
    }

    /** {@inheritDoc} */
    @Override
    public void onEpoch(Trainer trainer) {
        long lbp = 0;
        long full = 0;
        for (LbpLayer l : layers) {
            BackwardFlops f = l.backwardFlops();
            if (f == null) {
                continue;
            }
            full += f.getFull();
            lbp += l.isLbpEnabled() ? f.getLbp() : f.getFull();
        }
        lastLbpMflops = lbp / 1e6;
        lastFullMflops = full / 1e6;
        epochs++;
        Metrics metrics = trainer.getMetrics();
        if (metrics != null) {
            metrics.addMetric(METRIC_LBP_MFLOPS, lastLbpMflops);
            metrics.addMetric(METRIC_FULL_MFLOPS, lastFullMflops);
        }
        logger.info(
                String.format(
                        Locale.ROOT,
                        "LBP-WHT epoch %d: backward %.1f of %.1f MFLOPs/sample (%.1f%%) in %d"
                                + " layers",
                        epochs,
                        lastLbpMflops,
                        lastFullMflops,
                        full == 0 ? 100.0 : 100.0 * lbp / full,
                        layers.size()));
    }

    /**
     * Returns the backward MFLOPs per sample of the LBP layers at the last finished epoch.
     *
     * @return MFLOPs
     */
    public double getLastLbpMflops() {
        return lastLbpMflops;
    }

    /**
     * Returns the backward MFLOPs per sample of the same layers with full backprop.
     *
     * @return MFLOPs
     */
    public double getLastFullMflops() {
        return lastFullMflops;
    }
}
