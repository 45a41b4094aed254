package io.github.lbpdjl.zoo.swin;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.zoo.vit.TimmBlock;
import io.github.lbpdjl.zoo.vit.TimmSequential;
import java.util.List;

/**
 * timm's {@code SwinTransformerV2Stage}: an optional {@code downsample} ({@link PatchMerging};
 * timm's first stage has an {@code nn.Identity} there, which has no parameters and is left out
 * here), then {@code blocks} ({@link SwinBlock} each, every second one shifted).
 */
public class SwinStage extends TimmBlock {

    private final boolean downsample;

    /**
     * Creates the stage.
     *
     * @param merging the patch merging, or null for none
     * @param blocks the blocks
     */
    public SwinStage(PatchMerging merging, List<SwinBlock> blocks) {
        downsample = merging != null;
        if (merging != null) {
            addTimmChild("downsample", merging);
        }
        addTimmChild("blocks", new TimmSequential(blocks));
    }

    /**
     * @return whether the stage starts with a patch merging
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
        NDArray merged =
                forwardChild(0, parameterStore, inputs.singletonOrThrow(), training, params);
        NDList y = child(1).forward(parameterStore, new NDList(merged), training, params);
        Intermediates.releaseAll(new NDList(merged), inputs, y);
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
