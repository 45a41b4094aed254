package io.github.lbpdjl.zoo.vit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.ndarray.Scalars;

/**
 * timm's ViT multi-head self-attention: one {@code qkv} Linear (dim -> 3 dim), scaled dot-product
 * attention per head with scale {@code head_dim^-0.5} and softmax over the keys, then a {@code
 * proj} Linear. Input and output are (B, N, C).
 *
 * <p>Children (timm names): {@code qkv}, {@code proj}; both replaceable with {@link
 * #replaceChild(String, ai.djl.nn.Block)}.
 */
public class Attention extends TimmBlock {

    private final int dim;
    private final int numHeads;
    private final int headDim;
    private final float scale;

    /**
     * Creates the attention block.
     *
     * @param dim the embedding dimension C
     * @param numHeads the number of heads; must divide dim
     * @param qkvBias whether the qkv Linear has a bias
     */
    public Attention(int dim, int numHeads, boolean qkvBias) {
        if (dim < 1 || numHeads < 1 || dim % numHeads != 0) {
            throw new IllegalArgumentException(
                    "dim must be a positive multiple of numHeads, got dim="
                            + dim
                            + ", numHeads="
                            + numHeads);
        }
        this.dim = dim;
        this.numHeads = numHeads;
        this.headDim = dim / numHeads;
        this.scale = (float) Math.pow(headDim, -0.5);
        addTimmChild("qkv", Linear.builder().setUnits(3L * dim).optBias(qkvBias).build());
        addTimmChild("proj", Linear.builder().setUnits(dim).build());
    }

    /**
     * @return the embedding dimension
     */
    public int getDim() {
        return dim;
    }

    /**
     * @return the number of heads
     */
    public int getNumHeads() {
        return numHeads;
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
        if (s.dimension() != 3 || s.get(2) != dim) {
            throw new IllegalArgumentException(
                    "attention expects input (B, N, " + dim + "), got " + s);
        }
        long b = s.get(0);
        long n = s.get(1);
        NDArray qkv = forwardChild(0, parameterStore, x, training, params);
        // (B, N, 3, heads, head_dim) -> (3, B, heads, N, head_dim)
        NDArray split = qkv.reshape(b, n, 3, numHeads, headDim);
        NDArray heads = split.transpose(2, 0, 3, 1, 4);
        NDArray q = heads.get(0);
        NDArray k = heads.get(1);
        NDArray v = heads.get(2);
        NDArray scaled = Scalars.mul(q, scale);
        NDArray kT = k.transpose(0, 1, 3, 2);
        NDArray scores = scaled.matMul(kT);
        NDArray attn = scores.softmax(-1);
        NDArray weighted = attn.matMul(v);
        NDArray merged = weighted.transpose(0, 2, 1, 3);
        NDArray out = merged.reshape(b, n, dim);
        NDList y = child(1).forward(parameterStore, new NDList(out), training, params);
        Intermediates.releaseAll(
                new NDList(
                        qkv, split, heads, q, k, v, scaled, kT, scores, attn, weighted, merged,
                        out),
                inputs,
                y);
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
        Shape in = inputShapes[0];
        child(0).initialize(manager, dataType, in);
        child(1).initialize(manager, dataType, in);
    }
}
