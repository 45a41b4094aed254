package io.github.lbpdjl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.engine.LbpEngines;
import io.github.lbpdjl.engine.ProjectionArrays;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.wht.PatchProjection;
import io.github.lbpdjl.wht.TokenLayout;

/**
 * The LBP-WHT side of one layer that applies a token-wise linear map, whatever block it lives in (a
 * Linear, a 1x1 convolution): configuration and switch, the projection matrices kept between
 * passes, the gradient probes, the shape of the last training input, and the training pass on token
 * rows (L, N, C).
 */
final class TokenwiseLbp {

    private volatile LbpConfig config;
    private volatile boolean enabled = true;
    private volatile Shape lastTrainingShape;
    private final GradientProbes probes = new GradientProbes();
    private final ProjectionCache cache = new ProjectionCache();

    TokenwiseLbp(LbpConfig config) {
        this.config = config;
    }

    LbpConfig getConfig() {
        return config;
    }

    void setConfig(LbpConfig config) {
        this.config = config;
    }

    boolean isEnabled() {
        return enabled;
    }

    void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    GradientProbes probes() {
        return probes;
    }

    Shape getLastTrainingShape() {
        return lastTrainingShape;
    }

    void setLastTrainingShape(Shape shape) {
        lastTrainingShape = shape;
    }

    /**
     * Runs one LBP-WHT training pass of a map on tokens: exact value, LBP-WHT gradients. Releases
     * the map's own intermediates and the array it ran on (unless it is x).
     *
     * @param x the tokens (L, N, C_in)
     * @param map the map, the array it runs on (x or made from x) and its bias
     * @param weight the layer's weight array: the projection matrices live in its manager
     * @param layout the token layout of N
     * @param c the configuration
     * @return y (L, N, C_out)
     */
    NDArray run(NDArray x, TokenwiseMap map, NDArray weight, TokenLayout layout, LbpConfig c) {
        ProjectionArrays arrays = arrays(c, layout, x, weight);
        NDArray y =
                LbpEngines.forEngine(x.getManager().getEngine().getEngineName())
                        .forward(map.getInput(), map, map.getBias(), arrays);
        if (probes.isArmed()) {
            NDArray withProbe = probes.add(y, arrays, layout, c);
            Intermediates.release(y, withProbe);
            y = withProbe;
        }
        // autograd keeps what backward needs; DJL need not keep the rest until the batch ends
        map.release();
        Intermediates.release(map.getInput(), x, y);
        return y;
    }

    /**
     * Adds a probe to an exact output (..., N, C_out), so that statistics see gy with LBP-WHT off.
     */
    NDArray probeExact(NDArray y, NDArray input, NDArray weight, TokenLayout layout, LbpConfig c) {
        long tokens = layout.getTokenCount();
        return probes.addToExact(y, tokens, arrays(c, layout, input, weight), layout, c);
    }

    private ProjectionArrays arrays(LbpConfig c, TokenLayout layout, NDArray x, NDArray weight) {
        PatchProjection projection =
                PatchProjection.of(layout, c.getPatchSize(), c.getSelection(), c.getPadding());
        return cache.get(projection, x, weight.getManager());
    }
}
