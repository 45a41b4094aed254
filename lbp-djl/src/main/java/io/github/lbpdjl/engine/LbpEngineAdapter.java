package io.github.lbpdjl.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;

/**
 * What differs between DJL engines for LBP-WHT, and nothing else: the formulation of the LBP
 * forward that is fast and correct on that engine, whether backward calls accumulate gradients, and
 * how parameters are frozen once a trainer exists. One implementation per engine, found with {@link
 * java.util.ServiceLoader} through {@link LbpEngines}.
 */
public interface LbpEngineAdapter {

    /**
     * Returns the DJL engine name this adapter serves ("PyTorch", "MXNet").
     *
     * @return the engine name
     */
    String getEngineName();

    /**
     * Computes {@code y = f(x) + bias} exactly in value, with the LBP-WHT gradients for the
     * parameters of f, for x and exact gradients for the bias.
     *
     * @param x input (L, N, C_in), N tokens
     * @param f the token-wise linear map
     * @param bias the bias (C_out), or null
     * @param projection the projection matrices in x's manager and data type
     * @return y (L, N, C_out)
     */
    NDArray forward(NDArray x, TokenwiseLinear f, NDArray bias, ProjectionArrays projection);

    /**
     * Whether gradients accumulate across backward calls (PyTorch) or are overwritten (MXNet).
     *
     * @return true if they accumulate
     */
    boolean accumulatesGradients();

    /**
     * Clears the gradients of a block's parameters where the engine accumulates them, so that the
     * next backward call gives fresh gradients on every engine.
     *
     * @param block the block
     */
    default void clearGradients(Block block) {
        if (accumulatesGradients()) {
            zeroGradients(block);
        }
    }

    /**
     * Sets the gradients of a block's parameters to zeros in place, on every engine (NaN and Inf
     * entries included).
     *
     * @param block the block
     */
    static void zeroGradients(Block block) {
        for (ai.djl.util.Pair<String, Parameter> p : block.getParameters()) {
            Parameter param = p.getValue();
            if (param.isInitialized() && param.getArray().hasGradient()) {
                NDArray g;
                try {
                    g = param.getArray().getGradient();
                } catch (IllegalStateException noGradientYet) {
                    continue; // PyTorch: no backward has run since the gradient was attached
                }
                try (g) { // a fresh wrapper per call on both engines: close it or it stays in the
                    // model's manager
                    zeroInPlace(g);
                }
            }
        }
    }

    /**
     * Sets an array to zeros in place, NaN and Inf entries included ({@code x - x} and {@code x *
     * 0} are NaN there; {@code x^0 - 1} is 0 for every x).
     *
     * @param array the array, e.g. a gradient
     */
    static void zeroInPlace(NDArray array) {
        array.powi(0).subi(1);
    }

    /**
     * Zeroes an array's gradient where the engine accumulates gradients, as DJL's own optimizers do
     * on PyTorch after each update; a no-op where backward overwrites them.
     *
     * @param array a parameter array
     */
    default void clearGradient(NDArray array) {
        if (!accumulatesGradients() || !array.hasGradient()) {
            return;
        }
        try (NDArray g = array.getGradient()) {
            zeroInPlace(g);
        }
    }

    /**
     * Freezes or unfreezes a parameter. Must run after the trainer is created: PyTorch's {@code
     * newTrainer} unfreezes every parameter of a loaded model; a training listener's {@code
     * onTrainingBegin} fires after it.
     *
     * @param parameter the parameter
     * @param frozen whether it stops receiving gradients
     */
    default void freeze(Parameter parameter, boolean frozen) {
        parameter.freeze(frozen);
    }
}
