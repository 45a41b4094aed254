package io.github.lbpdjl.zoo.efficientformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.zoo.vit.TimmBlock;
import io.github.lbpdjl.zoo.vit.TimmSequential;
import java.util.List;

/**
 * One stage as timm's {@code EfficientFormerStage}: an optional {@link Downsample}, then its {@code
 * blocks}: {@link MetaBlock2d}s, and in the last stage, after a {@link Flat}, the last {@code
 * num_vit} blocks as {@link MetaBlock1d}s (the Flat first when every block is a Meta3D one).
 *
 * <p>Children (timm names): {@code downsample} (absent where timm has an identity), {@code blocks}
 * (a {@link TimmSequential}: {@code blocks.0}, {@code blocks.1}, ...).
 */
public class EfficientFormerStage extends TimmBlock {

    private final boolean downsample;

    /**
     * Creates the stage.
     *
     * @param downsample the downsampling, or null for none
     * @param blocks the blocks in order, a {@link Flat} included
     */
    public EfficientFormerStage(Downsample downsample, List<? extends Block> blocks) {
        this.downsample = downsample != null;
        if (downsample != null) {
            addTimmChild("downsample", downsample);
        }
        addTimmChild("blocks", new TimmSequential(blocks));
    }

    /**
     * @return whether the stage starts with a downsampling
     */
    public boolean hasDownsample() {
        return downsample;
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        if (!downsample) {
            return child(0).forward(parameterStore, inputs, training, params);
        }
        NDArray d = forwardChild(0, parameterStore, inputs.singletonOrThrow(), training, params);
        NDList y = child(1).forward(parameterStore, new NDList(d), training, params);
        Intermediates.releaseAll(new NDList(d), inputs, y);
        return y;
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
