package io.github.lbpdjl.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * A tiny pre-norm ViT-like model: blocks.N.{norm1, qkv, proj, norm2, fc1, fc2}, then a head on the
 * token mean.
 */
final class TinyVit extends AbstractBlock {

    final SequentialBlock blocks;
    final Linear head;
    final int classes;

    TinyVit(int depth, int dim, int classes) {
        this.classes = classes;
        blocks = addChildBlock("blocks", new SequentialBlock());
        for (int i = 0; i < depth; i++) {
            blocks.add(new Encoder(dim));
        }
        head = addChildBlock("head", Linear.builder().setUnits(classes).build());
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
        NDArray x = blocks.forward(ps, in, training).singletonOrThrow();
        return head.forward(ps, new NDList(x.mean(new int[] {1})), training);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputs) {
        return new Shape[] {new Shape(inputs[0].get(0), classes)};
    }

    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        blocks.initialize(manager, dataType, inputShapes);
        Shape s = inputShapes[0];
        head.initialize(manager, dataType, new Shape(s.get(0), s.get(2)));
    }

    /** One encoder block with single-head attention written with NDArray operations. */
    static final class Encoder extends AbstractBlock {
        final LayerNorm norm1;
        final Linear qkv;
        final Linear proj;
        final LayerNorm norm2;
        final Linear fc1;
        final Linear fc2;
        final int dim;

        Encoder(int dim) {
            this.dim = dim;
            norm1 = addChildBlock("norm1", LayerNorm.builder().axis(2).build());
            qkv = addChildBlock("qkv", Linear.builder().setUnits(3L * dim).build());
            proj = addChildBlock("proj", Linear.builder().setUnits(dim).build());
            norm2 = addChildBlock("norm2", LayerNorm.builder().axis(2).build());
            fc1 = addChildBlock("fc1", Linear.builder().setUnits(2L * dim).build());
            fc2 = addChildBlock("fc2", Linear.builder().setUnits(dim).build());
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            NDArray x = in.singletonOrThrow();
            NDArray h = norm1.forward(ps, new NDList(x), training).singletonOrThrow();
            NDList qkvs = qkv.forward(ps, new NDList(h), training).singletonOrThrow().split(3, 2);
            NDArray att =
                    qkvs.get(0)
                            .matMul(qkvs.get(1).transpose(0, 2, 1))
                            .div(Math.sqrt(dim))
                            .softmax(2);
            NDArray a = att.matMul(qkvs.get(2));
            x = x.add(proj.forward(ps, new NDList(a), training).singletonOrThrow());
            h = norm2.forward(ps, new NDList(x), training).singletonOrThrow();
            h = Activation.gelu(fc1.forward(ps, new NDList(h), training).singletonOrThrow());
            return new NDList(x.add(fc2.forward(ps, new NDList(h), training).singletonOrThrow()));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputs) {
            return inputs;
        }

        @Override
        protected void initializeChildBlocks(
                NDManager manager, DataType dataType, Shape... inputShapes) {
            Shape s = inputShapes[0];
            norm1.initialize(manager, dataType, s);
            qkv.initialize(manager, dataType, s);
            proj.initialize(manager, dataType, s);
            norm2.initialize(manager, dataType, s);
            fc1.initialize(manager, dataType, s);
            fc2.initialize(manager, dataType, new Shape(s.get(0), s.get(1), 2L * dim));
        }
    }
}
