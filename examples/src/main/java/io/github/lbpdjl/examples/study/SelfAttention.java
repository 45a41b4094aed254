package io.github.lbpdjl.examples.study;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.ndarray.Scalars;

/**
 * Multi-head self-attention as a DJL user writes it: two token-wise {@link Linear} children, {@code
 * qkv} (C to 3C) and {@code proj} (C to C), kept in fields, with scaled dot-product attention per
 * head between them. Input and output are (B, N, C).
 */
public final class SelfAttention extends AbstractBlock {

    private final int dim;
    private final int heads;
    private final double scale;
    // fields of type Block: the rewriter swaps in LbpLinear here and in the children list
    private Block qkv;
    private Block proj;

    /**
     * Creates the block.
     *
     * @param dim the width C
     * @param heads the number of heads, a divisor of C
     */
    public SelfAttention(int dim, int heads) {
        if (dim % heads != 0) {
            throw new IllegalArgumentException(heads + " heads do not divide width " + dim);
        }
        this.dim = dim;
        this.heads = heads;
        this.scale = 1 / Math.sqrt((double) dim / heads);
        qkv = addChildBlock("qkv", Linear.builder().setUnits(3L * dim).build());
        proj = addChildBlock("proj", Linear.builder().setUnits(dim).build());
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        long b = x.getShape().get(0);
        long n = x.getShape().get(1);
        long hd = dim / heads;
        NDArray y = qkv.forward(ps, inputs, training, params).singletonOrThrow();
        // (B, N, 3C) -> (3, B, heads, N, C / heads)
        NDArray split = y.reshape(b, n, 3, heads, hd).transpose(2, 0, 3, 1, 4);
        NDArray q = split.get(0);
        NDArray k = split.get(1);
        NDArray v = split.get(2);
        NDArray qs = Scalars.mul(q, scale); // not q.mul(scale): the PyTorch autograd trap
        NDArray kt = k.transpose(0, 1, 3, 2);
        NDArray scores = qs.matMul(kt); // activations first: results stay in the batch's manager
        NDArray attn = scores.softmax(-1);
        NDArray mixed = attn.matMul(v);
        NDArray merged = mixed.transpose(0, 2, 1, 3).reshape(b, n, dim);
        NDList out = proj.forward(ps, new NDList(merged), training, params);
        Intermediates.releaseAll(
                new NDList(y, split, q, k, v, qs, kt, scores, attn, mixed, merged), inputs, out);
        return out;
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... shapes) {
        qkv.initialize(manager, dataType, shapes[0]);
        proj.initialize(manager, dataType, shapes[0]);
    }
}
