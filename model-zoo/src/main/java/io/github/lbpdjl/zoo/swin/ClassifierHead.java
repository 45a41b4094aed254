package io.github.lbpdjl.zoo.swin;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.zoo.vit.TimmBlock;

/**
 * timm's {@code ClassifierHead} on an NHWC map with average pooling: the mean over H and W, then
 * {@code fc} (Linear C -> classes). (B, H, W, C) -> (B, classes).
 */
public class ClassifierHead extends TimmBlock {

    /**
     * Creates the head.
     *
     * @param numClasses the classes
     */
    public ClassifierHead(int numClasses) {
        addTimmChild("fc", Linear.builder().setUnits(numClasses).build());
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        Shape s = x.getShape();
        NDArray tokens = x.reshape(s.get(0), s.get(1) * s.get(2), s.get(3));
        // one axis at a time: MXNet's mean takes one
        NDArray pooled = tokens.mean(new int[] {1});
        NDList y = child(0).forward(parameterStore, new NDList(pooled), training, params);
        Intermediates.releaseAll(new NDList(tokens, pooled), inputs, y);
        return y;
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape s = inputShapes[0];
        return child(0).getOutputShapes(new Shape[] {new Shape(s.get(0), s.get(3))});
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape s = inputShapes[0];
        child(0).initialize(manager, dataType, new Shape(s.get(0), s.get(3)));
    }
}
