package io.github.lbpdjl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.core.Linear;
import io.github.lbpdjl.ndarray.Intermediates;

/**
 * The plain linear map x W^T of a layer, with W (C_out, C_in): {@link LbpLinear}'s map, and {@link
 * LbpConv2d}'s over the 2-D view of its 1x1 kernel. The detached weight belongs to the forward
 * pass's manager: an array made from a parameter belongs to the model's manager, which lives until
 * the model closes (one leaked array per layer per step).
 */
final class LinearMap extends TokenwiseMap {

    private final NDArray weight;
    private final NDManager manager;
    private NDArray frozen; // made on first use: an engine's own backward never needs it

    /**
     * Creates the map of one pass.
     *
     * @param x the tokens (L, N, C_in) it runs on
     * @param bias the bias (C_out) or null
     * @param weight the weight (C_out, C_in), with its gradient
     * @param manager the forward pass's manager, where the detached weight goes
     */
    LinearMap(NDArray x, NDArray bias, NDArray weight, NDManager manager) {
        super(x, bias);
        this.weight = weight;
        this.manager = manager;
    }

    @Override
    public NDArray apply(NDArray x) {
        return Linear.linear(x, weight).singletonOrThrow();
    }

    @Override
    public NDArray applyFrozen(NDArray x, NDArray bias) {
        if (frozen == null) {
            frozen = weight.stopGradient();
            frozen.attach(manager);
        }
        return Linear.linear(x, frozen, bias).singletonOrThrow();
    }

    @Override
    public NDArray getPlainWeight() {
        return weight;
    }

    @Override
    protected void release() {
        if (frozen != null) {
            Intermediates.release(frozen);
        }
    }
}
