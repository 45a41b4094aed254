package io.github.lbpdjl.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * A small convolutional net with the shape of the paper's convolutional stages: a stage of a 1x1
 * convolution, a 3x3 one and a 1x1 one (kept in fields, as model code does), then global average
 * pooling and two Linear layers. Paths: {@code 0.pw1}, {@code 0.dw}, {@code 0.pw2}, {@code 1} (the
 * pooling), {@code 2}, {@code 3} (the output layer).
 */
public final class ConvNet {

    /** Input channels. */
    public static final int C = 4;

    private ConvNet() {}

    /** The stage: 1x1 (C to 16), 3x3 with padding 1 (16 to 16), 1x1 (16 to 8). */
    public static final class Stage extends AbstractBlock {
        public Conv2d pw1;
        public final Conv2d dw;
        public final Conv2d pw2;

        Stage() {
            pw1 = addChildBlock("pw1", pointwise(16));
            dw =
                    addChildBlock(
                            "dw",
                            Conv2d.builder()
                                    .setFilters(16)
                                    .setKernelShape(new Shape(3, 3))
                                    .optPadding(new Shape(1, 1))
                                    .build());
            pw2 = addChildBlock("pw2", pointwise(8));
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            NDList h = pw1.forward(ps, in, training);
            h = dw.forward(ps, new NDList(Activation.relu(h.singletonOrThrow())), training);
            return pw2.forward(ps, new NDList(Activation.relu(h.singletonOrThrow())), training);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputs) {
            return pw2.getOutputShapes(dw.getOutputShapes(pw1.getOutputShapes(inputs)));
        }

        @Override
        protected void initializeChildBlocks(
                NDManager manager, DataType dataType, Shape... inputShapes) {
            pw1.initialize(manager, dataType, inputShapes);
            Shape[] mid = pw1.getOutputShapes(inputShapes);
            dw.initialize(manager, dataType, mid);
            pw2.initialize(manager, dataType, dw.getOutputShapes(mid));
        }
    }

    /**
     * A plain 1x1 Conv2d.
     *
     * @param filters output channels
     * @return the layer
     */
    public static Conv2d pointwise(int filters) {
        return Conv2d.builder().setFilters(filters).setKernelShape(new Shape(1, 1)).build();
    }

    /**
     * Global average pooling, (B, C, H, W) to (B, C) (PyTorch's mean takes one axis at a time).
     *
     * @param x the map
     * @return the means
     */
    public static NDArray pool(NDArray x) {
        Shape s = x.getShape();
        return x.reshape(s.get(0), s.get(1), -1).mean(new int[] {2});
    }

    /**
     * The net: the stage, pooling, Linear 8, Linear {@code classes}.
     *
     * @param classes output units
     * @return the net
     */
    public static SequentialBlock net(int classes) {
        return new SequentialBlock()
                .add(new Stage())
                .add(x -> new NDList(pool(x.singletonOrThrow())))
                .add(Linear.builder().setUnits(8).build())
                .add(Linear.builder().setUnits(classes).build());
    }
}
