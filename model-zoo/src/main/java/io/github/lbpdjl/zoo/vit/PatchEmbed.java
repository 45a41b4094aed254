package io.github.lbpdjl.zoo.vit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;

/**
 * timm's {@code PatchEmbed}: a {@code proj} Conv2d with kernel = stride = patch size, then the grid
 * flattened row-major into tokens: (B, C_in, H, W) -> (B, (H/p)(W/p), dim).
 */
public class PatchEmbed extends TimmBlock {

    private final int patchSize;
    private final int embedDim;

    /**
     * Creates the patch embedding.
     *
     * @param patchSize the patch side p
     * @param embedDim the output dimension
     */
    public PatchEmbed(int patchSize, int embedDim) {
        this.patchSize = patchSize;
        this.embedDim = embedDim;
        addTimmChild(
                "proj",
                Conv2d.builder()
                        .setKernelShape(new Shape(patchSize, patchSize))
                        .optStride(new Shape(patchSize, patchSize))
                        .setFilters(embedDim)
                        .build());
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray y = child(0).forward(parameterStore, inputs, training, params).singletonOrThrow();
        Shape s = y.getShape();
        NDArray flat = y.reshape(s.get(0), s.get(1), -1);
        NDList tokens = new NDList(flat.transpose(0, 2, 1));
        Intermediates.releaseAll(new NDList(y, flat), inputs, tokens);
        return tokens;
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        long tokens = (in.get(2) / patchSize) * (in.get(3) / patchSize);
        return new Shape[] {new Shape(in.get(0), tokens, embedDim)};
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        child(0).initialize(manager, dataType, inputShapes);
    }
}
