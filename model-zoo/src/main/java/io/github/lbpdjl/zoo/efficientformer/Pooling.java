package io.github.lbpdjl.zoo.efficientformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;

/**
 * PoolFormer's token mixer as timm's {@code Pooling}: {@code avgpool(x) - x}, with a {@code k x k}
 * average pool of stride 1 and padding {@code k / 2} that averages only over the positions inside
 * the map ({@code count_include_pad=False}). Input and output (B, C, H, W); no parameters.
 *
 * <p>DJL 0.36's PyTorch engine ignores {@code countIncludePad} (its native avg_pool2d call never
 * passes it on), so the average over the inside positions is computed the same way on both engines:
 * the pool with the padding counted, divided by the share of each window that lies inside the map
 * (the same pool of a map of ones).
 */
public class Pooling extends AbstractBlock {

    private final int poolSize;

    /**
     * Creates the token mixer.
     *
     * @param poolSize the pool side k (odd, 3 in EfficientFormer)
     */
    public Pooling(int poolSize) {
        super((byte) 1);
        if (poolSize < 1 || poolSize % 2 == 0) {
            throw new IllegalArgumentException("pool size must be odd and >= 1, got " + poolSize);
        }
        this.poolSize = poolSize;
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
        NDArray pooled = pool(x);
        NDArray ones =
                x.getManager()
                        .ones(new Shape(1, 1, s.get(2), s.get(3)), x.getDataType(), x.getDevice());
        NDArray inside = pool(ones);
        NDArray mean = pooled.div(inside);
        NDList y = new NDList(mean.sub(x));
        Intermediates.releaseAll(new NDList(pooled, ones, inside, mean), inputs, y);
        return y;
    }

    /** The k x k average of stride 1 with the padding counted: sum / k^2. */
    private NDArray pool(NDArray x) {
        int pad = poolSize / 2;
        return Pool.avgPool2d(
                x,
                new Shape(poolSize, poolSize),
                new Shape(1, 1),
                new Shape(pad, pad),
                false,
                true);
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}
