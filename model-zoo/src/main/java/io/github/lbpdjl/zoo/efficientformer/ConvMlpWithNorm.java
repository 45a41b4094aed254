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
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * timm's {@code ConvMlpWithNorm}, the MLP of a Meta4D block on (B, C, H, W) maps: {@code fc1} (1x1
 * convolution to the hidden width) -> {@code norm1} (BatchNorm) -> GELU -> {@code fc2} (1x1
 * convolution back to C) -> {@code norm2} (BatchNorm).
 *
 * <p>Children (timm names): {@code fc1}, {@code norm1}, {@code fc2}, {@code norm2}.
 */
public class ConvMlpWithNorm extends TimmBlock {

    private final UnaryOperator<NDArray> activation;

    /**
     * Creates the MLP.
     *
     * @param dim input and output channels
     * @param hidden hidden channels
     * @param activation the activation after norm1 (exact GELU in timm)
     */
    public ConvMlpWithNorm(int dim, int hidden, UnaryOperator<NDArray> activation) {
        this.activation = Objects.requireNonNull(activation, "activation");
        addTimmChild("fc1", Layers.conv(hidden, 1, 1, 0));
        addTimmChild("norm1", Layers.batchNorm());
        addTimmChild("fc2", Layers.conv(dim, 1, 1, 0));
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
        NDArray h = forwardChild(0, parameterStore, x, training, params);
        NDArray n = forwardChild(1, parameterStore, h, training, params);
        NDArray a = activation.apply(n);
        NDArray o = forwardChild(2, parameterStore, a, training, params);
        NDList y = child(3).forward(parameterStore, new NDList(o), training, params);
        Intermediates.releaseAll(new NDList(h, n, a, o), inputs, y);
        return y;
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        child(0).initialize(manager, dataType, inputShapes);
        Shape[] hidden = child(0).getOutputShapes(inputShapes);
        child(1).initialize(manager, dataType, hidden);
        child(2).initialize(manager, dataType, hidden);
        child(3).initialize(manager, dataType, inputShapes);
    }
}
