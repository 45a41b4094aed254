package io.github.lbpdjl.ndarray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

class IntermediatesTest {

    @Test
    void releaseAllClosesEachIntermediateOnceAndKeepsInputsAndOutputs() {
        try (NDManager m = Engine.getEngine("PyTorch").newBaseManager()) {
            NDArray x = m.ones(new Shape(2, 3)).duplicate();
            NDArray a = x.add(1f);
            NDArray b = a.mul(2f);
            NDArray y = b.sub(1f);
            NDList inputs = new NDList(x);
            NDList outputs = new NDList(y);
            // listed twice, null, the input and the output: only a and b close
            Intermediates.releaseAll(new NDList(a, b, a, null, x, y), inputs, outputs);
            assertTrue(a.isReleased());
            assertTrue(b.isReleased());
            assertFalse(x.isReleased());
            assertFalse(y.isReleased());
            assertEquals(3f, y.getFloat(0, 0)); // (1 + 1) * 2 - 1
        }
    }

    @Test
    void releaseAllDoesNothingWhenSwitchedOff() {
        boolean before = Intermediates.isEnabled();
        Intermediates.setEnabled(false);
        try (NDManager m = Engine.getEngine("PyTorch").newBaseManager()) {
            NDArray x = m.ones(new Shape(2)).duplicate();
            NDArray a = x.add(1f);
            Intermediates.releaseAll(new NDList(a), new NDList(x));
            assertFalse(a.isReleased());
            assertEquals(2f, a.getFloat(0));
        } finally {
            Intermediates.setEnabled(before);
        }
    }
}
