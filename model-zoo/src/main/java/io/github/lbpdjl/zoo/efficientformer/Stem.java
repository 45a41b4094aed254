package io.github.lbpdjl.zoo.efficientformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.zoo.vit.TimmBlock;

/**
 * timm's {@code Stem4}: two 3x3 convolutions of stride 2 and padding 1, each followed by BatchNorm
 * and ReLU: (B, C_in, H, W) -> (B, C, H/4, W/4) (sides rounded up at each step).
 *
 * <p>Children (timm names): {@code conv1} (C/2 filters), {@code norm1}, {@code conv2} (C filters),
 * {@code norm2}; the ReLUs are functions, not blocks.
 */
public class Stem extends TimmBlock {

    /**
     * Creates the stem.
     *
     * @param outChannels the output channels C (the first stage's width)
     */
    public Stem(int outChannels) {
        addTimmChild("conv1", Layers.conv(outChannels / 2, 3, 2, 1));
        addTimmChild("norm1", Layers.batchNorm());
        addTimmChild("conv2", Layers.conv(outChannels, 3, 2, 1));
        addTimmChild("norm2", Layers.batchNorm());
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray c1 = forwardChild(0, parameterStore, x, training, params);
        NDArray n1 = forwardChild(1, parameterStore, c1, training, params);
        NDArray a1 = Activation.relu(n1);
        NDArray c2 = forwardChild(2, parameterStore, a1, training, params);
        NDArray n2 = forwardChild(3, parameterStore, c2, training, params);
        NDList y = new NDList(Activation.relu(n2));
        Intermediates.releaseAll(new NDList(c1, n1, a1, c2, n2), inputs, y);
        return y;
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return child(2).getOutputShapes(child(0).getOutputShapes(inputShapes));
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        child(0).initialize(manager, dataType, inputShapes);
        Shape[] s = child(0).getOutputShapes(inputShapes);
        child(1).initialize(manager, dataType, s);
        child(2).initialize(manager, dataType, s);
        child(3).initialize(manager, dataType, child(2).getOutputShapes(s));
    }
}
