package io.github.lbpdjl.zoo.vit;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;
import java.util.List;

/**
 * timm's {@code nn.Sequential}: children named {@code "0"}, {@code "1"}, ... applied in order, so
 * that paths read {@code blocks.0.attn.qkv}.
 */
public class TimmSequential extends TimmBlock {

    /**
     * Creates the sequence.
     *
     * @param blocks the children, named by their position
     */
    public TimmSequential(List<? extends Block> blocks) {
        for (int i = 0; i < blocks.size(); i++) {
            addTimmChild(Integer.toString(i), blocks.get(i));
        }
    }

    /**
     * @return the number of children
     */
    public int size() {
        return children.size();
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDList x = inputs;
        for (int i = 0; i < children.size(); i++) {
            NDList y = child(i).forward(parameterStore, x, training, params);
            if (i > 0) {
                // made by the previous child and now consumed; the caller's input stays
                Intermediates.release(x, y);
            }
            x = y;
        }
        return x;
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return chainedOutputShapes(inputShapes);
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        initializeChained(manager, dataType, inputShapes);
    }
}
