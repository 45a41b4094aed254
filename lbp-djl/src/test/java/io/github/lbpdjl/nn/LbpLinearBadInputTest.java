package io.github.lbpdjl.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.wht.TokenLayout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LbpLinearBadInputTest {

    private static IllegalArgumentException trainForward(
            String engine, LbpLinear layer, Shape init, Shape input) {
        try (NDManager m = Engine.getEngine(engine).newBaseManager()) {
            layer.initialize(m, DataType.FLOAT32, init);
            try (GradientCollector gc = m.getEngine().newGradientCollector()) {
                return assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                layer.forward(
                                        new ParameterStore(m, false),
                                        new NDList(m.ones(input)),
                                        true));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void tokenCountNotMatchingTheLayout(String engine) {
        LbpLinear l =
                LbpLinear.builder()
                        .setUnits(3)
                        .optName("blocks.0.mlp.fc1")
                        .optConfig(
                                LbpConfig.builder().optLayout(TokenLayout.grid(1, 14, 14)).build())
                        .build();
        IllegalArgumentException e =
                trainForward(engine, l, new Shape(2, 197, 4), new Shape(2, 50, 4));
        String msg = e.getMessage();
        assertTrue(
                msg.contains("blocks.0.mlp.fc1")
                        && msg.contains("(2, 50, 4)")
                        && msg.contains("197"),
                msg);
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void noLayoutAndNotExtraPlusSquare(String engine) {
        LbpLinear l = LbpLinear.builder().setUnits(3).optName("fc2").build();
        IllegalArgumentException e =
                trainForward(engine, l, new Shape(2, 200, 4), new Shape(2, 200, 4));
        String msg = e.getMessage();
        assertTrue(
                msg.contains("fc2") && msg.contains("(2, 200, 4)") && msg.contains("optLayout"),
                msg);
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void twoDimensionalInput(String engine) {
        LbpLinear l = LbpLinear.builder().setUnits(3).optName("head").build();
        IllegalArgumentException e = trainForward(engine, l, new Shape(2, 4), new Shape(2, 4));
        String msg = e.getMessage();
        assertTrue(
                msg.contains("head")
                        && msg.contains("(2, 4)")
                        && msg.contains("(batch, tokens, features)"),
                msg);
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void wrongFeatureCount(String engine) {
        LbpLinear l = LbpLinear.builder().setUnits(3).optName("qkv").build();
        IllegalArgumentException e =
                trainForward(engine, l, new Shape(2, 65, 4), new Shape(2, 65, 5));
        String msg = e.getMessage();
        assertTrue(
                msg.contains("qkv") && msg.contains("(2, 65, 5)") && msg.contains("needs 4"), msg);
    }

    @org.junit.jupiter.api.Test
    void builderNeedsUnits() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> LbpLinear.builder().build());
        assertEquals("LbpLinear: setUnits must be > 0, got 0", e.getMessage());
    }
}
