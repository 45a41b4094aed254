package io.github.lbpdjl.ndarray;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ScalarsTest {

    /**
     * Frees what the garbage collector can free, then fills fresh small direct buffers with NaN, so
     * that memory a tensor still points into after its Java buffer died is overwritten. On PyTorch,
     * {@code x.mul(3.0)} in place of {@link Scalars#mul} fails this test: the gradient comes back
     * NaN.
     */
    static List<ByteBuffer> churn() throws InterruptedException {
        List<ByteBuffer> keep = new ArrayList<>();
        for (int round = 0; round < 10; round++) {
            System.gc();
            Thread.sleep(5);
            for (int i = 0; i < 2000; i++) {
                ByteBuffer b = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
                b.putFloat(0, Float.NaN);
                keep.add(b);
            }
        }
        return keep;
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void gradientOfAScaledArraySurvivesGarbageCollection(String engine) throws Exception {
        try (NDManager m = Engine.getEngine(engine).newBaseManager()) {
            NDArray x = m.arange(12f).reshape(3, 4);
            x.setRequiresGradient(true);
            List<ByteBuffer> keep;
            NDArray y;
            try (GradientCollector gc = m.getEngine().newGradientCollector()) {
                y = Scalars.mul(x, 3.0);
                keep = churn();
                gc.backward(y.sum());
            }
            assertEquals(new Shape(3, 4), y.getShape());
            float[] value = y.toFloatArray();
            float[] grad = x.getGradient().toFloatArray();
            for (int i = 0; i < 12; i++) {
                assertEquals(3f * i, value[i], "value " + i);
                assertEquals(
                        3f, grad[i], "gradient " + i + " (" + keep.size() + " buffers churned)");
            }
        }
    }
}
