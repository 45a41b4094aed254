package io.github.lbpdjl.modules;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BlockTreeNamesTest {

    /** A block with its own parameter called gamma, as timm's LayerScale. */
    static final class Scale extends AbstractBlock {
        Scale() {
            addParameter(
                    Parameter.builder()
                            .setName("gamma")
                            .setType(Parameter.Type.OTHER)
                            .optShape(new Shape(4))
                            .build());
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            return in;
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return inputShapes;
        }
    }

    @Test
    void onlyNormLayersAreRenamed() {
        SequentialBlock seq =
                new SequentialBlock()
                        .add(BatchNorm.builder().build())
                        .add(LayerNorm.builder().build())
                        .add(new Scale());
        assertEquals(
                List.of(
                        "0.weight",
                        "0.bias",
                        "0.running_mean",
                        "0.running_var",
                        "1.weight",
                        "1.bias",
                        "2.gamma"),
                List.copyOf(BlockTree.parameters(seq).keySet()));
        assertEquals("gamma", BlockTree.torchName(new Scale(), "gamma"));
        assertEquals("weight", BlockTree.torchName("gamma"));
    }
}
