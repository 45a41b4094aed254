package io.github.lbpdjl.nn;

import ai.djl.ndarray.NDArray;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.wht.TokenLayout;

/**
 * What an armed {@link AdaptedLinear} recorded in one training forward pass, for gradient
 * statistics: a zero-valued leaf added to the layer's output, whose gradient after backward is the
 * layer's output gradient gy, with the projection and configuration the pass used.
 */
public final class GradientProbe {

    private final NDArray leaf;
    private final NDArray gather;
    private final TokenLayout layout;
    private final LbpConfig config;

    GradientProbe(NDArray leaf, NDArray gather, TokenLayout layout, LbpConfig config) {
        this.leaf = leaf;
        this.gather = gather;
        this.layout = layout;
        this.config = config;
    }

    /**
     * Returns the layer's output gradient of the recorded pass.
     *
     * @return gy, shape (L, N, C_out), or null if no backward has reached the layer
     */
    public NDArray getOutputGradient() {
        return leaf.hasGradient() ? leaf.getGradient() : null;
    }

    /**
     * Returns the coefficient matrix Q (M, N) of the projection the pass used (a copy: the layer
     * may replace its own before the probe is read).
     *
     * @return Q
     */
    public NDArray getGather() {
        return gather;
    }

    /**
     * Returns the token layout of the pass.
     *
     * @return the layout
     */
    public TokenLayout getLayout() {
        return layout;
    }

    /**
     * Returns the LBP-WHT configuration of the pass.
     *
     * @return the configuration
     */
    public LbpConfig getConfig() {
        return config;
    }

    /**
     * Returns the zero leaf itself, for the deprecated array-pair protocol.
     *
     * @return the leaf
     */
    NDArray getLeaf() {
        return leaf;
    }
}
