package io.github.lbpdjl.zoo.vit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;

/**
 * A pre-norm transformer encoder block as timm's {@code vision_transformer.Block}: {@code x = x +
 * attn(norm1(x)); x = x + mlp(norm2(x))}. Input and output are (B, N, C).
 *
 * <p>Children (timm names): {@code norm1}, {@code attn} ({@link Attention}), {@code norm2}, {@code
 * mlp} ({@link Mlp}).
 */
public class VitBlock extends TimmBlock {

    /**
     * Creates the block.
     *
     * @param dim the embedding dimension
     * @param numHeads the number of attention heads
     * @param mlpHidden the hidden width of the MLP
     * @param qkvBias whether the qkv Linear has a bias
     * @param eps the LayerNorm epsilon
     */
    public VitBlock(int dim, int numHeads, int mlpHidden, boolean qkvBias, float eps) {
        addTimmChild("norm1", layerNorm(eps));
        addTimmChild("attn", new Attention(dim, numHeads, qkvBias));
        addTimmChild("norm2", layerNorm(eps));
        addTimmChild("mlp", new Mlp(dim, mlpHidden));
    }

    static LayerNorm layerNorm(float eps) {
        // axis 2: normalise over C only for (B, N, C) inputs
        return LayerNorm.builder().axis(2).optEpsilon(eps).build();
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        // each intermediate is released once consumed (Intermediates); autograd keeps its own
        NDArray x = inputs.singletonOrThrow();
        NDArray h =
                child(0).forward(parameterStore, new NDList(x), training, params)
                        .singletonOrThrow();
        NDArray a =
                child(1).forward(parameterStore, new NDList(h), training, params)
                        .singletonOrThrow();
        Intermediates.release(h, x, a);
        NDArray x1 = x.add(a);
        Intermediates.release(a, x);
        h = child(2).forward(parameterStore, new NDList(x1), training, params).singletonOrThrow();
        NDArray m =
                child(3).forward(parameterStore, new NDList(h), training, params)
                        .singletonOrThrow();
        Intermediates.release(h, x1, m, x);
        NDArray out = x1.add(m);
        Intermediates.release(m, x1, x);
        Intermediates.release(x1);
        return new NDList(out);
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
        for (int i = 0; i < 4; i++) {
            child(i).initialize(manager, dataType, inputShapes);
        }
    }
}
