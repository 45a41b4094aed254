package io.github.lbpdjl.zoo.vit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Activation;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.ndarray.Scalars;

/**
 * Exact GELU, {@code 0.5 x (1 + erf(x / sqrt 2))}, as timm's {@code nn.GELU()} computes it, with
 * the engine's native erf-based kernel (DJL's {@link Activation#gelu(NDArray)}: PyTorch {@code
 * gelu}, MXNet {@code LeakyReLU(act_type=gelu)}).
 *
 * <p>The native kernel's backward keeps only its input, where the same function written as NDArray
 * operations kept three input-sized arrays for backward (the scaled input, {@code 1 + erf}, the
 * input). The two engines' kernels agree to float rounding (e.g. 5e-7 absolute at x = -3), not bit
 * for bit.
 *
 * <p>{@link #geluTanh(NDArray)} is the tanh approximation, for models trained with it.
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

    /**
     * Applies GELU's tanh approximation, {@code 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))},
     * as PyTorch's {@code nn.GELU(approximate='tanh')} (timm's {@code gelu_tanh}), from NDArray
     * operations; it differs from {@link #gelu(NDArray)} by up to 4.7e-4 (at x = -2.7).
     *
     * @param x the input
     * @return the approximation, same shape
     */
    public static NDArray geluTanh(NDArray x) {
        NDArray x2 = x.mul(x);
        NDArray x3 = x2.mul(x);
        NDArray cubic = Scalars.mul(x3, 0.044715);
        NDArray inner = x.add(cubic);
        NDArray arg = Scalars.mul(inner, Math.sqrt(2 / Math.PI));
        NDArray t = arg.tanh();
        NDArray onePlus = t.add(1);
        NDArray half = Scalars.mul(x, 0.5);
        NDArray y = half.mul(onePlus);
        Intermediates.releaseAll(
                new NDList(x2, x3, cubic, inner, arg, t, onePlus, half), new NDList(x, y));
        return y;
    }
}
