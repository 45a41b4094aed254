package io.github.lbpdjl.engine;

import ai.djl.ndarray.NDArray;

/**
 * Moved to {@link io.github.lbpdjl.ndarray.Scalars}.
 *
 * @deprecated use {@link io.github.lbpdjl.ndarray.Scalars}; this class goes in the next release
 */
@Deprecated
public final class Scalars {

    private Scalars() {}

    /**
     * Returns {@code x * s}, with {@code s} held in memory the engine owns.
     *
     * @param x the array
     * @param s the factor
     * @return the product
     * @deprecated use {@link io.github.lbpdjl.ndarray.Scalars#mul(NDArray, double)}
     */
    @Deprecated
    public static NDArray mul(NDArray x, double s) {
        return io.github.lbpdjl.ndarray.Scalars.mul(x, s);
    }
}
