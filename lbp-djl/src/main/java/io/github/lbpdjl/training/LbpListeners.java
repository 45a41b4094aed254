package io.github.lbpdjl.training;

import ai.djl.training.listener.TrainingListener;

/**
 * The usual set of LBP-WHT listeners, as DJL's {@link TrainingListener.Defaults}: add them with
 * {@code config.addTrainingListeners(LbpListeners.defaults(fineTuning))}.
 */
public final class LbpListeners {

    /** The sampling period of the gradient energy in {@link #defaults(FineTuning)}. */
    public static final int ENERGY_EVERY = 50;

    private LbpListeners() {}

    /**
     * Returns, in order: the preparation at the start of training, the NaN/Inf check that stops
     * training, the gradient energy kept sampled every {@value #ENERGY_EVERY} batches, and the
     * backward FLOPs per epoch.
     *
     * @param fineTuning how to prepare the model after newTrainer
     * @return the listeners
     */
    public static TrainingListener[] defaults(FineTuning fineTuning) {
        return new TrainingListener[] {
            new FineTuningListener(fineTuning, false),
            new NonFiniteCheckListener(NonFiniteAction.STOP),
            GradientEnergyListener.sampling(ENERGY_EVERY),
            new BackwardFlopsListener()
        };
    }
}
