package io.github.lbpdjl.zoo.vit;

import ai.djl.ndarray.NDArray;

/**
 * Exact GELU, {@code 0.5 x (1 + erf(x / sqrt 2))}, as timm's {@code nn.GELU()} computes it, written
 * with NDArray operations so that every engine computes the same function.
 */
public final class Gelu {

    private static final double INV_SQRT2 = 1.0 / Math.sqrt(2.0);

    private Gelu() {}

    /**
     * Applies exact GELU.
     *
     * @param x the input
     * @return GELU(x), same shape
     */
    public static NDArray gelu(NDArray x) {
        return x.mul(INV_SQRT2).erf().add(1).mul(x).mul(0.5);
    }
}
