package io.github.lbpdjl.zoo.vit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.ConstantInitializer;
import ai.djl.util.PairList;

/**
 * timm's {@code LayerScale} of a ViT block ({@code ls1}, {@code ls2}): tokens (B, N, C) times a
 * learned per-channel factor {@code gamma} of shape (C), initialised to {@code init_values}.
 */
final class LayerScale extends AbstractBlock {

    private final Parameter gamma;

    LayerScale(int dim, float initValue) {
        super((byte) 1);
        gamma =
                addParameter(
                        Parameter.builder()
                                .setName("gamma")
                                .setType(Parameter.Type.OTHER)
                                .optShape(new Shape(dim))
                                .optInitializer(new ConstantInitializer(initValue))
                                .build());
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        return new NDList(x.mul(parameterStore.getValue(gamma, x.getDevice(), training)));
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}
