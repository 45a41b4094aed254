package io.github.lbpdjl.examples.common;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import org.junit.jupiter.api.Test;

/** Parameter counts: each Parameter object once, trainable only where gradients are required. */
class ParametersTest {

    @Test
    void countsSharedParametersOnceAndFrozenOnesAsNotTrainable() {
        try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
            Block shared = Linear.builder().setUnits(4).build(); // 4x4 + 4 = 20
            Block frozen = Linear.builder().setUnits(2).build(); // 2x4 + 2 = 10
            SequentialBlock model = new SequentialBlock().add(shared).add(shared).add(frozen);
            model.initialize(manager, DataType.FLOAT32, new Shape(1, 4));
            assertEquals(new Parameters(30, 30), Parameters.count(model));
            frozen.freezeParameters(true);
            assertEquals(new Parameters(20, 30), Parameters.count(model));
        }
    }

    @Test
    void uninitialisedParametersAreNotCounted() {
        assertEquals(new Parameters(0, 0), Parameters.count(Linear.builder().setUnits(3).build()));
    }
}
