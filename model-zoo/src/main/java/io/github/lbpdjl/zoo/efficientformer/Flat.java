package io.github.lbpdjl.zoo.efficientformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;

/**
 * timm's {@code Flat}: a map (B, C, H, W) flattened row-major into tokens (B, H W, C), between the
 * last Meta4D and the first Meta3D block. No parameters; it takes a position in its stage's {@code
 * blocks}, as in timm.
 */
public class Flat extends AbstractBlock {

    /** Creates the block. */
    public Flat() {
        super((byte) 1);
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
        NDArray flat = x.reshape(s.get(0), s.get(1), -1);
        NDList y = new NDList(flat.transpose(0, 2, 1));
        Intermediates.releaseAll(new NDList(flat), inputs, y);
        return y;
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape s = inputShapes[0];
        return new Shape[] {new Shape(s.get(0), s.get(2) * s.get(3), s.get(1))};
    }
}
