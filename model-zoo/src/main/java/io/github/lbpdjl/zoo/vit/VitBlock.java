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
import java.util.function.UnaryOperator;

/**
 * A pre-norm transformer encoder block as timm's {@code vision_transformer.Block}: {@code x = x +
 * attn(norm1(x)); x = x + mlp(norm2(x))}. Input and output are (B, N, C).
 *
 * <p>Children (timm names): {@code norm1}, {@code attn} ({@link Attention}), {@code norm2}, {@code
 * mlp} ({@link Mlp}); with layer scale ({@code init_values} in timm) also {@code ls1} after {@code
 * attn} and {@code ls2} after {@code mlp}, each a learned per-channel factor {@code gamma}: {@code
 * x = x + ls1(attn(norm1(x))); x = x + ls2(mlp(norm2(x)))}.
 */
public class VitBlock extends TimmBlock {

    private final boolean layerScale;

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
        this(dim, numHeads, mlpHidden, qkvBias, eps, 0f);
    }

    /**
     * Creates the block, with layer scale if {@code initValues} is not 0.
     *
     * @param dim the embedding dimension
     * @param numHeads the number of attention heads
     * @param mlpHidden the hidden width of the MLP
     * @param qkvBias whether the qkv Linear has a bias
     * @param eps the LayerNorm epsilon
     * @param initValues the initial layer scale factor (timm's {@code init_values}); 0: none
     */
    public VitBlock(
            int dim, int numHeads, int mlpHidden, boolean qkvBias, float eps, float initValues) {
        this(dim, numHeads, mlpHidden, qkvBias, eps, initValues, Gelu::gelu);
    }

    /**
     * Creates the block with another MLP activation.
     *
     * @param dim the embedding dimension
     * @param numHeads the number of attention heads
     * @param mlpHidden the hidden width of the MLP
     * @param qkvBias whether the qkv Linear has a bias
     * @param eps the LayerNorm epsilon
     * @param initValues the initial layer scale factor (timm's {@code init_values}); 0: none
     * @param activation the MLP's activation, e.g. {@link Gelu#gelu(NDArray)}
     */
    public VitBlock(
            int dim,
            int numHeads,
            int mlpHidden,
            boolean qkvBias,
            float eps,
            float initValues,
            UnaryOperator<NDArray> activation) {
        layerScale = initValues != 0f;
        addTimmChild("norm1", layerNorm(eps));
        addTimmChild("attn", new Attention(dim, numHeads, qkvBias));
        if (layerScale) {
            addTimmChild("ls1", new LayerScale(dim, initValues));
        }
        addTimmChild("norm2", layerNorm(eps));
        addTimmChild("mlp", new Mlp(dim, mlpHidden, activation));
        if (layerScale) {
            addTimmChild("ls2", new LayerScale(dim, initValues));
        }
    }

    /**
     * @return whether the block has layer scale ({@code ls1}, {@code ls2})
     */
    public boolean hasLayerScale() {
        return layerScale;
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
        int i = 0;
        NDArray h1 = forwardChild(i++, parameterStore, x, training, params);
        NDArray a = forwardChild(i++, parameterStore, h1, training, params);
        NDArray sa = layerScale ? forwardChild(i++, parameterStore, a, training, params) : a;
        NDArray x1 = x.add(sa);
        NDArray h2 = forwardChild(i++, parameterStore, x1, training, params);
        NDArray m = forwardChild(i++, parameterStore, h2, training, params);
        NDArray sm = layerScale ? forwardChild(i, parameterStore, m, training, params) : m;
        NDList y = new NDList(x1.add(sm));
        NDList used = new NDList(h1, a, x1, h2, m);
        if (layerScale) {
            used.add(sa);
            used.add(sm);
        }
        Intermediates.releaseAll(used, inputs, y);
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
        for (int i = 0; i < getChildNames().size(); i++) {
            child(i).initialize(manager, dataType, inputShapes);
        }
    }
}
