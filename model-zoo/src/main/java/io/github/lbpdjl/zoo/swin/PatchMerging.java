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
 * timm's v2 {@code PatchMerging}: each 2x2 block of an NHWC map (B, H, W, C) becomes one token of
 * 4C channels, in timm's order ({@code reshape(B, H/2, 2, W/2, 2, C).permute(0, 1, 3, 4, 2, 5)}:
 * the 2x2 block's column index outer, row index inner), then {@code reduction} (Linear 4C -> 2C, no
 * bias) and {@code norm} (LayerNorm), giving (B, H/2, W/2, 2C). The reduction sees the merged map
 * as tokens (B, H/2 W/2, 4C), row-major.
 *
 * <p>Children (timm names): {@code reduction}, {@code norm}. H and W must be even (timm would pad).
 */
public class PatchMerging extends TimmBlock {

    private final int dim;
    private final int outDim;

    /**
     * Creates the merging.
     *
     * @param dim the input channels C
     * @param outDim the output channels (timm: 2C)
     * @param layerNormEps the LayerNorm epsilon
     */
    public PatchMerging(int dim, int outDim, float layerNormEps) {
        this.dim = dim;
        this.outDim = outDim;
        addTimmChild("reduction", Linear.builder().setUnits(outDim).optBias(false).build());
        addTimmChild("norm", SwinOps.layerNorm(3, layerNormEps));
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
        if (s.dimension() != 4 || s.get(1) % 2 != 0 || s.get(2) % 2 != 0 || s.get(3) != dim) {
            throw new IllegalArgumentException(
                    "patch merging expects (B, H, W, " + dim + ") with H, W even, got " + s);
        }
        long b = s.get(0);
        long h = s.get(1) / 2;
        long w = s.get(2) / 2;
        NDArray blocks = x.reshape(b, h, 2, w, 2, dim);
        NDArray ordered = blocks.transpose(0, 1, 3, 4, 2, 5);
        NDArray tokens = ordered.reshape(b, h * w, 4L * dim);
        NDArray reduced = forwardChild(0, parameterStore, tokens, training, params);
        NDArray normed = forwardChild(1, parameterStore, reduced, training, params);
        NDList y = new NDList(normed.reshape(b, h, w, outDim));
        Intermediates.releaseAll(new NDList(blocks, ordered, tokens, reduced, normed), inputs, y);
        return y;
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape s = inputShapes[0];
        return new Shape[] {new Shape(s.get(0), s.get(1) / 2, s.get(2) / 2, outDim)};
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape s = inputShapes[0];
        Shape tokens = new Shape(s.get(0), (s.get(1) / 2) * (s.get(2) / 2), 4L * dim);
        child(0).initialize(manager, dataType, tokens);
        child(1).initialize(manager, dataType, child(0).getOutputShapes(new Shape[] {tokens}));
    }
}
