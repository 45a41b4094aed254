package io.github.lbpdjl.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LbpConv2d as a drop-in for a 1x1 Conv2d: what the builder refuses, taking a Conv2d over and
 * giving it back with the same Parameter objects, the .params format, the checks of the input and
 * the FLOP count.
 */
class LbpConv2dParamsTest {

    private static final Shape IN = new Shape(2, 6, 9, 13);

    private static byte[] save(Block b) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        b.saveParameters(new DataOutputStream(bytes));
        return bytes.toByteArray();
    }

    private static float[] infer(NDManager m, Block b, NDArray x) {
        return b.forward(new ParameterStore(m, false), new NDList(x), false)
                .singletonOrThrow()
                .toFloatArray();
    }

    private static String refusal(Supplier<LbpConv2d> build) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build::get);
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void builderRefusesAllButOneByOne() {
        LbpConv2d ok = LbpConv2d.builder().setFilters(4).optName("pw").build();
        assertEquals(new Shape(1, 1), ok.getKernelShape());
        assertTrue(
                refusal(
                                () ->
                                        LbpConv2d.builder()
                                                .setFilters(4)
                                                .setKernelShape(new Shape(3, 3))
                                                .build())
                        .contains("kernel (3, 3)"));
        assertTrue(
                refusal(() -> LbpConv2d.builder().setFilters(4).optStride(new Shape(2, 2)).build())
                        .contains("stride (2, 2)"));
        assertTrue(
                refusal(() -> LbpConv2d.builder().setFilters(4).optGroups(2).build())
                        .contains("groups 2"));
        assertTrue(
                refusal(
                                () ->
                                        LbpConv2d.builder()
                                                .setFilters(4)
                                                .optDilation(new Shape(2, 1))
                                                .build())
                        .contains("dilation (2, 1)"));
        String padding =
                refusal(
                        () ->
                                LbpConv2d.builder()
                                        .setFilters(4)
                                        .optPadding(new Shape(0, 1))
                                        .optName("blocks.0.pw")
                                        .build());
        assertTrue(
                padding.contains("padding (0, 1)") && padding.contains("'blocks.0.pw'"), padding);
        assertTrue(refusal(() -> LbpConv2d.builder().build()).contains("setFilters"));

        Conv2d threeByThree =
                Conv2d.builder().setFilters(4).setKernelShape(new Shape(3, 3)).build();
        assertFalse(LbpConv2d.canTakeOver(threeByThree));
        assertEquals("kernel (3, 3)", LbpConv2d.whyNot(threeByThree));
        assertTrue(
                refusal(() -> LbpConv2d.from(threeByThree, LbpConfig.builder().build(), "dw"))
                        .contains("kernel (3, 3)"));
        assertFalse(LbpConv2d.canTakeOver(ok), "already adapted");
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void takesOverAConv2dAndGivesItBack(String engine) throws Exception {
        try (NDManager m = Engine.getEngine(engine).newBaseManager()) {
            Conv2d conv = Conv2d.builder().setFilters(4).setKernelShape(new Shape(1, 1)).build();
            conv.initialize(m, DataType.FLOAT32, IN);
            NDArray x = m.randomNormal(IN);
            float[] expected = infer(m, conv, x);

            LbpConv2d lbp = LbpConv2d.from(conv, LbpConfig.builder().build(), "blocks.0.pw");
            assertSame(conv.getParameters().get("weight"), lbp.getParameters().get("weight"));
            assertSame(conv.getParameters().get("bias"), lbp.getParameters().get("bias"));
            assertEquals("blocks.0.pw", lbp.getName());
            assertArrayEquals(expected, infer(m, lbp, x), "inference is Conv2d's");
            // the shared Parameter is the one training updates: a gradient reaches conv's weight
            try (GradientCollector gc = m.getEngine().newGradientCollector()) {
                NDArray y =
                        lbp.forward(new ParameterStore(m, false), new NDList(x), true)
                                .singletonOrThrow();
                gc.backward(y.sum());
            }
            NDArray gw = conv.getParameters().get("weight").getArray().getGradient();
            assertTrue(gw.abs().sum().getFloat() > 0, "the shared weight got a gradient");

            Block back = lbp.toOriginal();
            assertEquals(Conv2d.class, back.getClass());
            assertSame(conv.getParameters().get("weight"), back.getParameters().get("weight"));
            assertSame(conv.getParameters().get("bias"), back.getParameters().get("bias"));
            assertEquals(new Shape(1, 1), ((Conv2d) back).getKernelShape());
            assertArrayEquals(expected, infer(m, back, x), "given back: Conv2d's output");

            // .params: a Conv2d's load into an LbpConv2d and the other way round
            LbpConv2d loaded = LbpConv2d.builder().setFilters(4).build();
            loaded.loadParameters(m, new DataInputStream(new ByteArrayInputStream(save(conv))));
            assertArrayEquals(expected, infer(m, loaded, x));
            Conv2d plain = Conv2d.builder().setFilters(4).setKernelShape(new Shape(1, 1)).build();
            plain.loadParameters(m, new DataInputStream(new ByteArrayInputStream(save(loaded))));
            assertArrayEquals(expected, infer(m, plain, x));

            // uninitialised in, uninitialised out; initialising the new layer fills the shared ones
            Conv2d fresh = Conv2d.builder().setFilters(4).setKernelShape(new Shape(1, 1)).build();
            LbpConv2d taken = LbpConv2d.from(fresh, LbpConfig.builder().build(), null);
            assertFalse(taken.isInitialized());
            taken.initialize(m, DataType.FLOAT32, IN);
            assertTrue(fresh.getParameters().get("weight").isInitialized());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void checksTheInputAndCountsFlops(String engine) {
        try (NDManager m = Engine.getEngine(engine).newBaseManager()) {
            LbpConfig config =
                    LbpConfig.builder()
                            .optSelection(BasisSelection.lowPassL1(2))
                            .optLayout(TokenLayout.grid(1, 9, 13))
                            .build();
            LbpConv2d l = LbpConv2d.builder().setFilters(4).optConfig(config).optName("pw").build();
            l.initialize(m, DataType.FLOAT32, IN);
            assertNull(l.backwardFlops(), "no training pass yet");
            NDArray x = m.randomNormal(IN);
            IllegalArgumentException e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> l.forward(new ParameterStore(m, false), new NDList(x), true));
            assertTrue(
                    e.getMessage().contains("'pw'") && e.getMessage().contains("layout"),
                    e.getMessage());

            l.setConfig(config.toBuilder().optLayout(null).build());
            e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> l.layoutFor(new Shape(2, 5, 9, 13)));
            assertTrue(e.getMessage().contains("6 channels"), e.getMessage());
            assertEquals(TokenLayout.grid(0, 9, 13), l.layoutFor(IN));

            l.forward(new ParameterStore(m, false), new NDList(x), true);
            assertEquals(IN, l.getLastTrainingShape());
            BackwardFlops f = l.backwardFlops();
            assertEquals(
                    BackwardFlops.of(TokenLayout.grid(0, 9, 13), l.getConfig(), 6, 4).getLbp(),
                    f.getLbp());
            assertEquals(4L * 9 * 13 * 6 * 4, f.getFull());
            assertInstanceOf(LbpLayer.class, l);
        }
    }
}
