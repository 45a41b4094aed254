package io.github.lbpdjl.zoo.efficientformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.zoo.vit.Mlp;
import io.github.lbpdjl.zoo.vit.TimmBlock;
import java.util.function.UnaryOperator;

/**
 * The Meta3D block as timm's {@code MetaBlock1d}, on (B, N, C) tokens: {@code x = x +
 * ls1(token_mixer(norm1(x))); x = x + ls2(mlp(norm2(x)))}.
 *
 * <p>Children (timm names): {@code norm1} (LayerNorm), {@code token_mixer} ({@link Attention}),
 * {@code ls1} ({@link LayerScale}), {@code norm2}, {@code mlp} (the ViT's {@link Mlp}: {@code fc1},
 * {@code fc2} Linear), {@code ls2}.
 */
public class MetaBlock1d extends TimmBlock {

    /**
     * Creates the block.
     *
     * @param dim the channels C
     * @param gridHeight the token grid's height (the attention biases' resolution)
     * @param gridWidth the token grid's width
     * @param mlpHidden the hidden width of the MLP
     * @param layerScaleInit the initial layer scale
     * @param layerNormEps the LayerNorm epsilon
     * @param activation the MLP's activation
     */
    public MetaBlock1d(
            int dim,
            int gridHeight,
            int gridWidth,
            int mlpHidden,
            float layerScaleInit,
            float layerNormEps,
            UnaryOperator<NDArray> activation) {
        addTimmChild("norm1", Layers.layerNorm(layerNormEps));
        addTimmChild("token_mixer", new Attention(dim, gridHeight, gridWidth));
        addTimmChild("ls1", new LayerScale(dim, layerScaleInit, false));
        addTimmChild("norm2", Layers.layerNorm(layerNormEps));
        addTimmChild("mlp", new Mlp(dim, mlpHidden, activation));
        addTimmChild("ls2", new LayerScale(dim, layerScaleInit, false));
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
        NDArray s1 = forwardChild(2, parameterStore, a, training, params);
        NDArray x1 = x.add(s1);
        NDArray h2 = forwardChild(3, parameterStore, x1, training, params);
        NDArray m = forwardChild(4, parameterStore, h2, training, params);
        NDArray s2 = forwardChild(5, parameterStore, m, training, params);
        NDList y = new NDList(x1.add(s2));
        Intermediates.releaseAll(new NDList(h1, a, s1, x1, h2, m, s2), inputs, y);
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
        for (int i = 0; i < 6; i++) {
            child(i).initialize(manager, dataType, inputShapes);
        }
    }
}
