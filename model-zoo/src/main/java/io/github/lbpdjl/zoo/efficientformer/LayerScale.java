package io.github.lbpdjl.zoo.efficientformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.ConstantInitializer;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;

/**
 * timm's {@code LayerScale} and {@code LayerScale2d}: the input times a learned per-channel factor
 * {@code gamma} (initialised to a constant, 1e-5 in EfficientFormer). The channel axis is the last
 * one ({@code LayerScale}, tokens (B, N, C)) or axis 1 ({@code LayerScale2d}, maps (B, C, H, W)).
 *
 * <p>Parameter (timm name): {@code gamma}, shape (C).
 */
public class LayerScale extends AbstractBlock {

    private final int dim;
    private final boolean channelsFirst;
    private final Parameter gamma;

    /**
     * Creates the layer scale.
     *
     * @param dim the number of channels C
     * @param initValue the initial value of every factor
     * @param channelsFirst true for (B, C, H, W) input (timm's LayerScale2d), false for (..., C)
     */
    public LayerScale(int dim, float initValue, boolean channelsFirst) {
        super((byte) 1);
        if (dim < 1) {
            throw new IllegalArgumentException("dim must be >= 1, got " + dim);
        }
        this.dim = dim;
        this.channelsFirst = channelsFirst;
        gamma =
                addParameter(
                        Parameter.builder()
                                .setName("gamma")
                                .setType(Parameter.Type.OTHER)
                                .optShape(new Shape(dim))
                                .optInitializer(new ConstantInitializer(initValue))
                                .build());
    }

    /**
     * @return whether the channel axis is axis 1 (LayerScale2d)
     */
    public boolean isChannelsFirst() {
        return channelsFirst;
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray g = parameterStore.getValue(gamma, x.getDevice(), training);
        if (!channelsFirst) {
            return new NDList(x.mul(g));
        }
        // a result of an op on the parameter belongs to the parameter's (the model's) manager:
        // hand it to the batch's, which frees it even where intermediates are not released
        NDArray column = g.reshape(dim, 1, 1);
        column.attach(x.getManager());
        NDList y = new NDList(x.mul(column));
        Intermediates.releaseAll(new NDList(column), inputs, y);
        return y;
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}
