package io.github.lbpdjl.examples.study;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.TruncatedNormalInitializer;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;

/**
 * Puts a learned class token before the patch tokens and adds a learned position embedding: (B, N,
 * C) to (B, N + 1, C). DJL has no block that holds a free parameter, so this small block is the
 * model's second block of its own.
 */
public final class TokenEmbedding extends AbstractBlock {

    private final Parameter cls;
    private final Parameter pos;

    /**
     * Creates the block.
     *
     * @param tokens the number of patch tokens N
     * @param dim the width C
     */
    public TokenEmbedding(int tokens, int dim) {
        cls =
                addParameter(
                        Parameter.builder()
                                .setName("cls_token")
                                .setType(Parameter.Type.WEIGHT)
                                .optShape(new Shape(1, 1, dim))
                                .optInitializer(new TruncatedNormalInitializer(0.02f))
                                .build());
        pos =
                addParameter(
                        Parameter.builder()
                                .setName("pos_embed")
                                .setType(Parameter.Type.WEIGHT)
                                .optShape(new Shape(1, tokens + 1, dim))
                                .optInitializer(new TruncatedNormalInitializer(0.02f))
                                .build());
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        Shape s = x.getShape();
        NDArray c = ps.getValue(cls, x.getDevice(), training);
        NDArray p = ps.getValue(pos, x.getDevice(), training);
        // zeros from the input's manager first: a result lands in its first operand's manager,
        // and the parameters' manager lives as long as the model
        NDArray zeros = x.getManager().zeros(new Shape(s.get(0), 1, s.get(2)), x.getDataType());
        NDArray token = zeros.add(c);
        NDArray joined = NDArrays.concat(new NDList(token, x), 1);
        NDArray out = joined.add(p);
        Intermediates.releaseAll(new NDList(zeros, token, joined), inputs, new NDList(out));
        return new NDList(out);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape s = inputShapes[0];
        return new Shape[] {new Shape(s.get(0), s.get(1) + 1, s.get(2))};
    }
}
