package io.github.lbpdjl.engine;

import ai.djl.ndarray.NDArray;

/**
 * A linear map applied to every token: the part of a layer that LBP-WHT projects.
 *
 * <p>Plain Linear ({@code x W^T}) and LoRA-adapted Linear ({@code x W^T + s x A^T B^T}) are both of
 * this kind; because the map is linear, running it on the projected coefficients of x and spreading
 * the result back gives exactly the LBP-WHT gradients.
 */
public interface TokenwiseLinear {

    /**
     * Applies the bias-free map with gradients flowing to its parameters and to {@code x}.
     *
     * @param x input (..., C_in)
     * @return output (..., C_out)
     */
    NDArray apply(NDArray x);

    /**
     * Applies the map with its parameters detached from autograd (gradients still flow to x if it
     * carries them), then adds {@code bias}, which keeps its gradient.
     *
     * @param x input (..., C_in)
     * @param bias the bias (C_out) or null
     * @return output (..., C_out)
     */
    NDArray applyFrozen(NDArray x, NDArray bias);

    /**
     * Returns W (C_out, C_in) when the map is exactly {@code x W^T}, so that an engine may
     * differentiate it with a backward of its own; null (the default) for any other map, which then
     * runs through autograd.
     *
     * @return W, or null
     */
    default NDArray getPlainWeight() {
        return null;
    }
}
