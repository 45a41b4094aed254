package io.github.lbpdjl.zoo.efficientformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.zoo.vit.TimmBlock;

/**
 * timm's EfficientFormer {@code Downsample}: a 3x3 convolution of stride 2 and padding 1, then
 * BatchNorm: (B, C_in, H, W) -> (B, C_out, H/2, W/2) (sides rounded up).
 *
 * <p>Children (timm names): {@code conv}, {@code norm}.
 */
public class Downsample extends TimmBlock {

    /**
     * Creates the downsampling.
     *
     * @param outChannels the output channels
     */
    public Downsample(int outChannels) {
        addTimmChild("conv", Layers.conv(outChannels, 3, 2, 1));
        addTimmChild("norm", Layers.batchNorm());
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray c = forwardChild(0, parameterStore, inputs.singletonOrThrow(), training, params);
        NDList y = child(1).forward(parameterStore, new NDList(c), training, params);
        Intermediates.releaseAll(new NDList(c), inputs, y);
        return y;
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return child(0).getOutputShapes(inputShapes);
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        child(0).initialize(manager, dataType, inputShapes);
        child(1).initialize(manager, dataType, child(0).getOutputShapes(inputShapes));
    }
}
