package io.github.lbpdjl.training;

/**
 * What {@link LbpTrainingListener} does when a batch's loss or a gradient of an LBP-WHT layer is
 * NaN or infinite. It checks after backward and before the optimizer step.
 */
public enum NonFiniteAction {

    /** Throws {@link ai.djl.TrainingDivergedException} naming the step, the loss and the layers. */
    STOP,

    /**
     * Logs a warning naming them and zeroes every gradient of the model for that step. With SGD the
     * weights then stay as they are; optimizers with moments (Adam) still apply their stored,
     * decayed moments, as on a batch without signal. DJL's Trainer checks that the very first step
     * has a non-zero gradient, so a skipped first step fails there.
     */
    SKIP,

    /** No check (saves one small reduction per LBP layer per step). */
    OFF
}
