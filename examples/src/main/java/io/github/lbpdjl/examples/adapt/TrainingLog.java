package io.github.lbpdjl.examples.adapt;

import ai.djl.Device;
import ai.djl.training.Trainer;
import ai.djl.training.listener.LoggingTrainingListener;
import java.util.Locale;

/**
 * DJL's logging listener, with progress fit for where the output goes: on a terminal DJL's
 * carriage-return progress bars; otherwise (a pipe, a file, a CI log: {@code System.console() ==
 * null}) one line per {@value #PERCENT}% of each epoch's training batches, with the mean loss so
 * far, and no validation bar. Also records the training loss curve: the mean of every 10 batches.
 */
final class TrainingLog extends LoggingTrainingListener {

    /** Without a terminal, a line per this many percent of an epoch. */
    static final int PERCENT = 25;

    private final boolean terminal;
    private final LossCurve curve = new LossCurve();
    private int epoch = 1;
    private int lastPercent;
    private double epochLoss;
    private int epochBatches;

    /**
     * Creates the listener.
     *
     * @param terminal whether the output is a terminal (DJL's progress bars) or not (lines)
     */
    TrainingLog(boolean terminal) {
        this.terminal = terminal;
    }

    /**
     * Whether this JVM's output is a terminal.
     *
     * @return {@code System.console() != null}
     */
    static boolean isTerminal() {
        return System.console() != null;
    }

    LossCurve curve() {
        return curve;
    }

    /**
     * The mean training loss of the epoch so far.
     *
     * @return the mean, NaN before the first batch
     */
    double epochLoss() {
        return epochLoss / epochBatches;
    }

    /**
     * Returns the log's state (the loss curve, the epoch and its loss so far), to save with a
     * checkpoint.
     *
     * @return a copy of the state
     */
    State state() {
        State s = new State();
        s.curve = curve.state();
        s.epoch = epoch;
        s.lastPercent = lastPercent;
        s.epochLoss = epochLoss;
        s.epochBatches = epochBatches;
        return s;
    }

    /**
     * Continues from a saved state, as if the batches before it had been logged here.
     *
     * @param s a state from {@link #state()}
     */
    void restore(State s) {
        curve.restore(s.curve);
        epoch = s.epoch;
        lastPercent = s.lastPercent;
        epochLoss = s.epochLoss;
        epochBatches = s.epochBatches;
    }

    /** The log's state, as Gson writes it. */
    static final class State {
        LossCurve.State curve;
        int epoch;
        int lastPercent;
        double epochLoss;
        int epochBatches;
    }

    @Override
    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
        for (Device d : batchData.getLabels().keySet()) {
            float l =
                    trainer.getLoss()
                            .evaluate(
                                    batchData.getLabels().get(d), batchData.getPredictions().get(d))
                            .getFloat();
            curve.add(l);
            epochLoss += l;
            epochBatches++;
        }
        if (terminal) {
            super.onTrainingBatch(trainer, batchData);
            return;
        }
        long total = batchData.getBatch().getProgressTotal();
        long done = batchData.getBatch().getProgress() + 1;
        int percent = (int) Math.min(100, 100 * done / Math.max(1, total));
        if (percent / PERCENT > lastPercent / PERCENT) {
            System.out.printf(
                    Locale.ROOT,
                    "epoch %d: training %3d%% done, mean loss so far %.4f%n",
                    epoch,
                    percent,
                    epochLoss());
        }
        lastPercent = percent;
    }

    @Override
    public void onValidationBatch(Trainer trainer, BatchData batchData) {
        if (terminal) {
            super.onValidationBatch(trainer, batchData);
        }
    }

    @Override
    public void onEpoch(Trainer trainer) {
        super.onEpoch(trainer);
        epoch++;
        lastPercent = 0;
        epochLoss = 0;
        epochBatches = 0;
    }
}
