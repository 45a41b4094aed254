package io.github.lbpdjl.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A Linear's .params load into an LbpLinear and back: the same format. */
class LbpLinearParamsTest {

    private static byte[] save(Block b) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        b.saveParameters(new DataOutputStream(bytes));
        return bytes.toByteArray();
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void linearParamsLoadIntoLbpLinearAndBack(String engine) throws Exception {
        Shape in = new Shape(2, 65, 6);
        try (NDManager m = Engine.getEngine(engine).newBaseManager()) {
            Linear linear = Linear.builder().setUnits(4).build();
            linear.initialize(m, DataType.FLOAT32, in);
            NDArray x = m.randomNormal(in);
            float[] expected =
                    linear.forward(new ParameterStore(m, false), new NDList(x), false)
                            .singletonOrThrow()
                            .toFloatArray();

            LbpLinear lbp = LbpLinear.builder().setUnits(4).build();
            lbp.loadParameters(m, new DataInputStream(new ByteArrayInputStream(save(linear))));
            assertArrayEquals(
                    expected,
                    lbp.forward(new ParameterStore(m, false), new NDList(x), false)
                            .singletonOrThrow()
                            .toFloatArray());

            Linear back = Linear.builder().setUnits(4).build();
            back.loadParameters(m, new DataInputStream(new ByteArrayInputStream(save(lbp))));
            assertArrayEquals(
                    expected,
                    back.forward(new ParameterStore(m, false), new NDList(x), false)
                            .singletonOrThrow()
                            .toFloatArray());
        }
    }
}
