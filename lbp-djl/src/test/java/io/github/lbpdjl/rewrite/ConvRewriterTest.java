package io.github.lbpdjl.rewrite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.nn.LbpConv2d;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.peft.LoraConfig;
import io.github.lbpdjl.peft.LoraConv2d;
import io.github.lbpdjl.peft.LoraModel;
import io.github.lbpdjl.testing.ConvNet;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The tuners and 1x1 convolutions: LBP-WHT takes over the 1x1 Conv2d layers its targets name (not
 * under all-linear), leaves a named 3x3 one out with the reason, and undoes; LoRA, which does not
 * adapt Conv2d, says so instead of skipping a named one silently.
 */
class ConvRewriterTest {

    static final Shape INPUT = new Shape(2, ConvNet.C, 14, 14);

    static SequentialBlock initialized(NDManager m) {
        SequentialBlock net = ConvNet.net(3);
        net.initialize(m, DataType.FLOAT32, INPUT);
        return net;
    }

    static ConvNet.Stage stage(SequentialBlock net) {
        return (ConvNet.Stage) net.getChildren().valueAt(0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void rewritesNamedOneByOneConvsSkipsThreeByThreeAndUndoes(String engine) {
        try (NDManager m = Engine.getEngine(engine).newBaseManager()) {
            SequentialBlock net = initialized(m);
            ConvNet.Stage stage = stage(net);
            Parameter pw1Weight = stage.pw1.getParameters().get("weight");
            Parameter pw1Bias = stage.pw1.getParameters().get("bias");
            NDArray x = m.randomNormal(INPUT);
            NDArray before = RewriterTest.forwardAndGrads(m, net, x, false)[0];
            NDArray[] fullTrain = RewriterTest.forwardAndGrads(m, net, x, true);

            RewriteReport r =
                    LbpRewriter.builder()
                            .optTargets(TargetModules.names("pw1", "dw", "pw2"))
                            .optAllowUnmatched(true) // "dw" names only a 3x3 conv
                            .optConfig(
                                    LbpConfig.builder()
                                            .optSelection(BasisSelection.lowPassL1(1))
                                            .build())
                            .optLayout(TokenLayout.grid(1, 4, 4)) // for Linear layers only
                            .build()
                            .apply(net);
            assertEquals(List.of("0.pw1", "0.pw2"), r.getReplaced());
            assertEquals(List.of("dw"), r.getUnmatchedPatterns());
            String dw = r.getLeftOut().get("0.dw");
            assertTrue(dw.contains("kernel (3, 3)") && dw.contains("LBP-WHT"), dw);
            assertInstanceOf(LbpConv2d.class, stage.pw1, "the field forward uses");
            assertInstanceOf(LbpConv2d.class, stage.pw2);
            assertEquals(Conv2d.class, stage.dw.getClass());
            LbpConv2d pw1 = (LbpConv2d) stage.pw1;
            assertSame(pw1Weight, pw1.getParameters().get("weight"));
            assertSame(pw1Bias, pw1.getParameters().get("bias"));
            assertEquals("0.pw1", pw1.getName());
            assertNull(pw1.getConfig().getLayout(), "a conv's grid comes from its input");

            assertArrayEquals(
                    before.toFloatArray(),
                    RewriterTest.forwardAndGrads(m, net, x, false)[0].toFloatArray(),
                    1e-5f);
            NDArray[] lbpTrain = RewriterTest.forwardAndGrads(m, net, x, true);
            assertArrayEquals(fullTrain[0].toFloatArray(), lbpTrain[0].toFloatArray(), 1e-4f);
            assertFalse(
                    fullTrain[1].allClose(lbpTrain[1], 1e-3, 1e-3, false),
                    "the LBP-WHT convolutions are used in training");

            assertEquals(List.of("0.pw1", "0.pw2"), LbpRewriter.undo(net));
            assertEquals(Conv2d.class, stage.pw1.getClass());
            assertSame(pw1Weight, stage.pw1.getParameters().get("weight"));
            assertSame(pw1Bias, stage.pw1.getParameters().get("bias"));
            NDArray[] undone = RewriterTest.forwardAndGrads(m, net, x, true);
            assertArrayEquals(fullTrain[1].toFloatArray(), undone[1].toFloatArray(), 1e-5f);
        }
    }

    @Test
    void globsAndRegexNameConvsAllLinearDoesNot() {
        try (NDManager m = Engine.getEngine("PyTorch").newBaseManager()) {
            SequentialBlock net = initialized(m);
            RewriteReport globs =
                    LbpRewriter.builder().optTargets(TargetModules.globs("0.*")).build().apply(net);
            assertEquals(List.of("0.pw1", "0.pw2"), globs.getReplaced());
            assertEquals(
                    Map.of(
                            "0.dw",
                            "a Conv2d with kernel (3, 3), which LBP-WHT does not adapt (1x1 only)"),
                    globs.getLeftOut());
            LbpRewriter.undo(net);

            RewriteReport regex =
                    LbpRewriter.builder()
                            .optTargets(TargetModules.regex("0\\.pw1"))
                            .optLayout(TokenLayout.grid(1, 4, 4))
                            .optLayout(TargetModules.names("pw1"), TokenLayout.grid(0, 14, 14))
                            .build()
                            .apply(net);
            assertEquals(List.of("0.pw1"), regex.getReplaced());
            assertEquals(
                    TokenLayout.grid(0, 14, 14),
                    ((LbpConv2d) stage(net).pw1).getConfig().getLayout(),
                    "a per-pattern layout names the conv");
            assertEquals(1, LbpRewriter.undo(net).size());

            // all-linear takes the Linear layers only: here "2", whose (B, C) input is refused at
            // apply time (LBP-WHT needs tokens); no conv is touched
            IllegalArgumentException twoD =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> LbpRewriter.builder().build().apply(net));
            assertTrue(twoD.getMessage().contains("LbpLinear '2'"), twoD.getMessage());
            assertTrue(BlockTree.find(net, LbpConv2d.class).isEmpty());
            assertTrue(BlockTree.find(net, LbpLinear.class).isEmpty());

            LbpRewriter onlyDw =
                    LbpRewriter.builder().optTargets(TargetModules.names("dw")).build();
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> onlyDw.apply(net));
            assertTrue(
                    e.getMessage().contains("0.dw (a Conv2d with kernel (3, 3)")
                            && e.getMessage().contains("1x1 Conv2d"),
                    e.getMessage());
        }
    }

    @Test
    void loraAdaptsTheConv2dItsTargetsSelectAsPeftDoes() {
        try (Model model = Model.newInstance("conv", "PyTorch")) {
            model.setBlock(ConvNet.net(3));
            model.getBlock().initialize(model.getNDManager(), DataType.FLOAT32, INPUT);
            LoraModel lora =
                    LoraConfig.builder()
                            .optTargets(TargetModules.regex("0\\.pw1|2"))
                            .build()
                            .apply(model);
            assertEquals(List.of("0.pw1", "2"), lora.getReport().getReplaced());
            assertEquals(List.of("0.pw1"), List.copyOf(lora.getConvLayers().keySet()));
            assertInstanceOf(LoraConv2d.class, stage((SequentialBlock) model.getBlock()).pw1);
            // all-linear names Linear layers only, as in PEFT
            lora.unload(false);
            LoraModel all = LoraConfig.builder().build().apply(model);
            assertTrue(all.getConvLayers().isEmpty());
            assertTrue(BlockTree.find(model.getBlock(), LoraConv2d.class).isEmpty());
        }
    }
}
