package io.github.lbpdjl.zoo.vit;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;

/**
 * Exact GELU, {@code 0.5 x (1 + erf(x / sqrt 2))}, as timm's {@code nn.GELU()} computes it, with
 * the engine's native erf-based kernel (DJL's {@link Activation#gelu(NDArray)}: PyTorch {@code
 * gelu}, MXNet {@code LeakyReLU(act_type=gelu)}).
 *
 * <p>The native kernel's backward keeps only its input, where the same function written as NDArray
 * operations kept three input-sized arrays for backward (the scaled input, {@code 1 + erf}, the
 * input). The two engines' kernels agree to float rounding (e.g. 5e-7 absolute at x = -3), not bit
 * for bit.
 */
public final class Gelu {

    private Gelu() {}

    /**
     * Applies exact GELU.
     *
     * @param x the input
     * @return GELU(x), same shape
     */
    public static NDArray gelu(NDArray x) {
        return Activation.gelu(x);
    }
}
