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
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * timm's ViT MLP: {@code fc1} Linear -> exact GELU (or another activation) -> {@code fc2} Linear,
 * over the last axis.
 *
 * <p>Children (timm names): {@code fc1}, {@code fc2}; both replaceable with {@link
 * #replaceChild(String, ai.djl.nn.Block)}.
 */
public class Mlp extends TimmBlock {

    private final int inFeatures;
    private final int hiddenFeatures;
    private final UnaryOperator<NDArray> activation;

    /**
     * Creates the MLP with exact GELU.
     *
     * @param inFeatures input (and output) features
     * @param hiddenFeatures hidden features
     */
    public Mlp(int inFeatures, int hiddenFeatures) {
        this(inFeatures, hiddenFeatures, Gelu::gelu);
    }

    /**
     * Creates the MLP with another activation (timm's {@code act_layer}).
     *
     * @param inFeatures input (and output) features
     * @param hiddenFeatures hidden features
     * @param activation the activation between fc1 and fc2, e.g. {@link Gelu#gelu(NDArray)}
     */
    public Mlp(int inFeatures, int hiddenFeatures, UnaryOperator<NDArray> activation) {
        this.activation = Objects.requireNonNull(activation, "activation");
        if (inFeatures < 1 || hiddenFeatures < 1) {
            throw new IllegalArgumentException(
                    "features must be >= 1, got in=" + inFeatures + ", hidden=" + hiddenFeatures);
        }
        this.inFeatures = inFeatures;
        this.hiddenFeatures = hiddenFeatures;
        addTimmChild("fc1", Linear.builder().setUnits(hiddenFeatures).build());
        addTimmChild("fc2", Linear.builder().setUnits(inFeatures).build());
    }

    /**
     * @return the hidden width
     */
    public int getHiddenFeatures() {
        return hiddenFeatures;
    }

    /**
     * @return the input and output width
     */
    public int getInFeatures() {
        return inFeatures;
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray h = child(0).forward(parameterStore, inputs, training, params).singletonOrThrow();
        NDArray g = activation.apply(h);
        NDList y = child(1).forward(parameterStore, new NDList(g), training, params);
        Intermediates.releaseAll(new NDList(h, g), inputs, y);
        return y;
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return child(1).getOutputShapes(child(0).getOutputShapes(inputShapes));
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        child(0).initialize(manager, dataType, inputShapes);
        child(1).initialize(manager, dataType, child(0).getOutputShapes(inputShapes));
    }
}
