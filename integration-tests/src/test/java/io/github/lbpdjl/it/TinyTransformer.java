package io.github.lbpdjl.it;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.nn.transformer.ScaledDotProductAttentionBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** A small pre-norm transformer on (B, 1 + 8x8, C) tokens, built from DJL blocks only. */
final class TinyTransformer {

    static final int C = 16;
    static final int TOKENS = 65;
    static final int CLASSES = 4;

    private TinyTransformer() {}

    /** Pre-norm residual encoder block: x + attn(norm(x)), then x + mlp(norm(x)). */
    static final class Encoder extends AbstractBlock {
        private final Block norm1;
        private final ScaledDotProductAttentionBlock attn;
        private final Block norm2;
        private final Linear fc1;
        private final Linear fc2;

        Encoder() {
            norm1 = addChildBlock("norm1", LayerNorm.builder().build());
            attn =
                    addChildBlock(
                            "attn",
                            ScaledDotProductAttentionBlock.builder()
                                    .setEmbeddingSize(C)
                                    .setHeadCount(2)
                                    .optAttentionProbsDropoutProb(0)
                                    .build());
            norm2 = addChildBlock("norm2", LayerNorm.builder().build());
            fc1 = addChildBlock("fc1", Linear.builder().setUnits(2 * C).build());
            fc2 = addChildBlock("fc2", Linear.builder().setUnits(C).build());
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            NDArray x = in.singletonOrThrow();
            NDArray h = norm1.forward(ps, new NDList(x), training).singletonOrThrow();
            x = x.add(attn.forward(ps, new NDList(h), training).singletonOrThrow());
            h = norm2.forward(ps, new NDList(x), training).singletonOrThrow();
            h = fc1.forward(ps, new NDList(h), training).singletonOrThrow();
            h = fc2.forward(ps, new NDList(Activation.relu(h)), training).singletonOrThrow();
            return new NDList(x.add(h));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputs) {
            return inputs;
        }

        @Override
        protected void initializeChildBlocks(
                NDManager manager, DataType dataType, Shape... shapes) {
            norm1.initialize(manager, dataType, shapes);
            attn.initialize(manager, dataType, shapes);
            norm2.initialize(manager, dataType, shapes);
            fc1.initialize(manager, dataType, shapes);
            fc2.initialize(manager, dataType, fc1.getOutputShapes(shapes));
        }
    }

    static SequentialBlock create() {
        return new SequentialBlock()
                .add(Linear.builder().setUnits(C).build()) // token embedding "0"
                .add(new Encoder())
                .add(new Encoder())
                .add(LayerNorm.builder().build())
                .add(x -> new NDList(x.singletonOrThrow().get(":, 0, :"))) // class token
                .add(Linear.builder().setUnits(CLASSES).build()); // head "5"
    }
}
