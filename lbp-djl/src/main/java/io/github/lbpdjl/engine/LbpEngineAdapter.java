package io.github.lbpdjl.engine;

import ai.djl.ndarray.NDArray;

import io.github.lbpdjl.nn.TokenwiseLinear;

/**
 * What differs between DJL engines for LBP-WHT: the formulation of the LBP forward that is fast
 * and correct on that engine. One implementation per engine, found with {@link
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
}
