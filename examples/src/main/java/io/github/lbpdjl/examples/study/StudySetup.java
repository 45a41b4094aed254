package io.github.lbpdjl.examples.study;

import ai.djl.ndarray.types.Shape;

/**
 * What every run of the study shares: the engine, the model's size, the batch and the LBP-WHT
 * listener's sampling.
 *
 * @param engine the DJL engine, PyTorch or MXNet
 * @param dim the model width
 * @param depth transformer blocks
 * @param heads attention heads
 * @param batch the batch size
 * @param energyEvery sample the gradient energy kept every N batches
 * @param calibration calibration batches of the energy-adaptive selection
 */
public record StudySetup(
        String engine, int dim, int depth, int heads, int batch, int energyEvery, int calibration) {

    /**
     * Builds a fresh, uninitialised model.
     *
     * @param classes the head's outputs
     * @return the model
     */
    public StudyVit model(int classes) {
        return new StudyVit(dim, depth, heads, classes);
    }

    /**
     * @return the shape of a training batch
     */
    public Shape inputShape() {
        return new Shape(batch, 1, StudyVit.SIZE, StudyVit.SIZE);
    }
}
