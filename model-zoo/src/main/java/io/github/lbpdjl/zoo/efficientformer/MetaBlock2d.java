package io.github.lbpdjl.zoo.efficientformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.zoo.vit.TimmBlock;
import java.util.function.UnaryOperator;

/**
 * The Meta4D block as timm's {@code MetaBlock2d}, on (B, C, H, W) maps: {@code x = x +
 * ls1(token_mixer(x)); x = x + ls2(mlp(x))}, the token mixer being {@link Pooling}.
 *
 * <p>Children (timm names): {@code token_mixer} ({@link Pooling}), {@code ls1} ({@link LayerScale},
 * channels first), {@code mlp} ({@link ConvMlpWithNorm}), {@code ls2}. (timm's drop paths are
 * identities at inference and with its default rate 0.)
 */
public class MetaBlock2d extends TimmBlock {

    /**
     * Creates the block.
     *
     * @param dim the channels C
     * @param poolSize the pool side of the token mixer
     * @param mlpHidden the hidden channels of the MLP
     * @param layerScaleInit the initial layer scale
     * @param activation the MLP's activation
     */
    public MetaBlock2d(
            int dim,
            int poolSize,
            int mlpHidden,
            float layerScaleInit,
            UnaryOperator<NDArray> activation) {
        addTimmChild("token_mixer", new Pooling(poolSize));
        addTimmChild("ls1", new LayerScale(dim, layerScaleInit, true));
        addTimmChild("mlp", new ConvMlpWithNorm(dim, mlpHidden, activation));
        addTimmChild("ls2", new LayerScale(dim, layerScaleInit, true));
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray mixed = forwardChild(0, parameterStore, x, training, params);
        NDArray scaled1 = forwardChild(1, parameterStore, mixed, training, params);
        NDArray x1 = x.add(scaled1);
        NDArray m = forwardChild(2, parameterStore, x1, training, params);
        NDArray scaled2 = forwardChild(3, parameterStore, m, training, params);
        NDList y = new NDList(x1.add(scaled2));
        Intermediates.releaseAll(new NDList(mixed, scaled1, x1, m, scaled2), inputs, y);
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
