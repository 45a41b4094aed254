package io.github.lbpdjl.ndarray;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Multiplication by a Java number that is safe under autograd on every engine.
 *
 * <p>On DJL's PyTorch engine (0.36), {@code NDArray.mul(Number)} wraps the number in a tensor that
 * points into a Java direct buffer and closes that array right after the call. A multiplication
 * keeps its factor for the backward pass, so once the garbage collector frees the buffer, backward
 * reads freed memory: the gradient is wrong at random, often Inf or NaN, in proportion to how much
 * garbage the process makes. {@link #mul} makes the factor in engine-owned memory instead (same
 * value, same graph). Use it for every scaling on a path that is differentiated; additions and
 * subtractions of a number keep nothing for backward and are safe as they are.
 */
public final class Scalars {

    private Scalars() {}

    /**
     * Returns {@code x * s}, with {@code s} held in memory the engine owns.
     *
     * @param x the array
     * @param s the factor
     * @return the product, same shape and type as {@code x}
     */
    public static NDArray mul(NDArray x, double s) {
        NDArray factor = x.getManager().full(new Shape(), (float) s, x.getDataType());
        return x.mul(factor);
    }
}
