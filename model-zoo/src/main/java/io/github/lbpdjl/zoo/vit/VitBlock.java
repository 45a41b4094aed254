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
        NDArray x = inputs.singletonOrThrow();
        NDArray h1 = forwardChild(0, parameterStore, x, training, params);
        NDArray a = forwardChild(1, parameterStore, h1, training, params);
        NDArray x1 = x.add(a);
        NDArray h2 = forwardChild(2, parameterStore, x1, training, params);
        NDArray m = forwardChild(3, parameterStore, h2, training, params);
        NDList y = new NDList(x1.add(m));
        Intermediates.releaseAll(new NDList(h1, a, x1, h2, m), inputs, y);
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
        for (int i = 0; i < 4; i++) {
            child(i).initialize(manager, dataType, inputShapes);
        }
    }
}
