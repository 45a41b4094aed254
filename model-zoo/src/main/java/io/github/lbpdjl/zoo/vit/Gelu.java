package io.github.lbpdjl.zoo.vit;

import ai.djl.ndarray.NDArray;

import io.github.lbpdjl.engine.Scalars;

/**
 * Exact GELU, {@code 0.5 x (1 + erf(x / sqrt 2))}, as timm's {@code nn.GELU()} computes it, written
 * with NDArray operations so that every engine computes the same function.
 *
 * <p>DJL's {@code Activation.gelu} is erf-based on both engines too (PyTorch {@code gelu}, MXNet
 * {@code LeakyReLU(act_type=gelu)}), but the two kernels differ in the last bits (e.g. 5e-7
 * absolute at x = -3); this formula gives the same values on both.
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
        return Scalars.mul(Scalars.mul(x, INV_SQRT2).erf().add(1).mul(x), 0.5);
    }
}
