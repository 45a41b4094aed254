package io.github.lbpdjl.nn;

import ai.djl.ndarray.NDArray;
import io.github.lbpdjl.engine.TokenwiseLinear;

/**
 * The token-wise map of one LBP-WHT training pass (see {@link TokenwiseLinear}), with the array it
 * runs on (the input as (L, N, C) or something made from it) and the bias added exactly.
 */
public abstract class TokenwiseMap implements TokenwiseLinear {

    private final NDArray input;
    private final NDArray bias;

    /**
     * Creates the map's frame.
     *
     * @param input the array the map runs on, (L, N, C)
     * @param bias the bias (C_out) or null
     */
    protected TokenwiseMap(NDArray input, NDArray bias) {
        this.input = input;
        this.bias = bias;
    }

    /**
     * Returns the array the map runs on.
     *
     * @return (L, N, C)
     */
    public NDArray getInput() {
        return input;
    }

    /**
     * Returns the bias added exactly.
     *
     * @return the bias, or null
     */
    public NDArray getBias() {
        return bias;
    }

    /** Releases the map's own intermediates (detached copies) once the pass is recorded. */
    protected void release() {}
}
