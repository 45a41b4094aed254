package io.github.lbpdjl.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.RewriteReport;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.training.FineTuning;
import io.github.lbpdjl.wht.TokenLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The tuners on a model they never saw: errors come at apply time (or at the first forward when no
 * shape is known), name the layer, its input shape and the layout, and change nothing; nothing is
 * overridden silently.
 */
class TunerChecksTest {

    private static final TokenLayout GRID_4X4 = TokenLayout.grid(1, 4, 4); // the model's 17 tokens

    private static LbpRewriter rewriter(TargetModules targets, TokenLayout layout) {
        return LbpRewriter.builder().optTargets(targets).optLayout(layout).build();
    }

    private static Map<String, LbpLinear> lbpLayers(Model model) {
        return BlockTree.find(model.getBlock(), LbpLinear.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void aLayoutThatDoesNotFitTheTokensFailsAtApply(String engine) {
        try (Model model = LoraModelTest.model(engine)) {
            LbpRewriter r = rewriter(TargetModules.names("qkv", "fc1"), TokenLayout.grid(1, 7, 7));
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> r.apply(model));
            String m = e.getMessage();
            assertTrue(m.contains("'blocks.0.qkv'"), m);
            assertTrue(m.contains("(2, 17, 8)"), m);
            assertTrue(m.contains("1 extra + 7x7 grid"), m);
            assertTrue(lbpLayers(model).isEmpty(), "a refused apply changes nothing");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void aTargetWithTwoDimensionalInputFailsAtApply(String engine) {
        try (Model model = LoraModelTest.model(engine)) {
            LbpRewriter r =
                    LbpRewriter.builder()
                            .optTargets(TargetModules.names("fc1", "head"))
                            .optExclude(null)
                            .build();
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> r.apply(model));
            assertTrue(e.getMessage().contains("'head'"), e.getMessage());
            assertTrue(e.getMessage().contains("(batch, tokens, features)"), e.getMessage());
            assertTrue(lbpLayers(model).isEmpty(), "fc1 was not replaced either");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void planSaysWhatWouldBeAdaptedWithWhichLayoutAndChangesNothing(String engine) {
        try (Model model = LoraModelTest.model(engine)) {
            Map<String, TokenLayout> plan =
                    rewriter(TargetModules.names("qkv"), GRID_4X4).plan(model);
            assertEquals(Map.of("blocks.0.qkv", GRID_4X4, "blocks.1.qkv", GRID_4X4), plan);
            assertTrue(lbpLayers(model).isEmpty());
            // without a layout: the one inferred from the known input shape
            Map<String, TokenLayout> inferred =
                    LbpRewriter.builder()
                            .optTargets(TargetModules.names("fc2"))
                            .build()
                            .plan(model);
            assertEquals(GRID_4X4, inferred.get("blocks.1.fc2"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void withoutShapesTheFirstForwardChecksInferenceToo(String engine) {
        try (Model model = Model.newInstance("tiny", engine)) {
            model.setBlock(new TinyVit(1, LoraModelTest.DIM, 3));
            rewriter(TargetModules.names("fc1"), TokenLayout.grid(1, 7, 7)).apply(model);
            assertEquals(1, lbpLayers(model).size(), "no shape known: applied");
            Block root = model.getBlock();
            root.initialize(model.getNDManager(), DataType.FLOAT32, LoraModelTest.INPUT);
            IllegalArgumentException e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () ->
                                    root.forward(
                                            new ParameterStore(model.getNDManager(), false),
                                            new NDList(
                                                    model.getNDManager().ones(LoraModelTest.INPUT)),
                                            false));
            assertTrue(e.getMessage().contains("'blocks.0.fc1'"), e.getMessage());
            assertTrue(e.getMessage().contains("17 tokens"), e.getMessage());
        }
    }

    @Test
    void anUnmatchedPatternNamesWhyMatchedLayersWereLeftOut() {
        try (Model model = LoraModelTest.model("PyTorch")) {
            IllegalArgumentException e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () ->
                                    LbpRewriter.builder()
                                            .optTargets(TargetModules.names("head"))
                                            .build()
                                            .apply(model));
            String m = e.getMessage();
            assertTrue(m.contains("matched but left out: head (excluded)"), m);
            String candidates = m.substring(m.indexOf("the candidates are"), m.indexOf("];"));
            assertTrue(!candidates.contains("head"), "head is not offered as a candidate: " + m);
        }
    }

    @Test
    void lbpAfterLoraReportsTheLoraLayersAsAlreadyAdapted() {
        try (Model model = LoraModelTest.model("PyTorch")) {
            LoraModel.apply(model, LoraModelTest.qkvProj());
            RewriteReport report =
                    rewriter(TargetModules.names("qkv", "fc1"), GRID_4X4).apply(model);
            assertEquals(List.of("blocks.0.fc1", "blocks.1.fc1"), report.getReplaced());
            assertEquals("already LoraLinear", report.getLeftOut().get("blocks.0.qkv"));
            assertEquals(
                    Map.of(
                            "qkv", List.of("blocks.0.qkv", "blocks.1.qkv"),
                            "fc1", List.of("blocks.0.fc1", "blocks.1.fc1")),
                    report.getMatches());
        }
    }

    @Test
    void theConfigurationAndTheRewriterMayNotGiveTwoLayouts() {
        LbpConfig own = LbpConfig.builder().optLayout(GRID_4X4).build();
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                LbpRewriter.builder()
                                        .optConfig(own)
                                        .optLayout(TokenLayout.grid(1, 2, 8))
                                        .build());
        assertTrue(e.getMessage().contains("set the layout in one place"), e.getMessage());
        LbpRewriter.builder().optConfig(own).optLayout(GRID_4X4).build(); // the same: fine
    }

    @Test
    void aFrozenPatternThatMatchesNothingIsAnError() {
        try (Model model = LoraModelTest.model("PyTorch")) {
            IllegalArgumentException e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> FineTuning.freeze(model, TargetModules.regex("nowhere\\..*")));
            assertTrue(e.getMessage().contains("match no parameter"), e.getMessage());
            assertTrue(e.getMessage().contains("blocks.0.norm1.gamma"), e.getMessage());
        }
    }

    @Test
    void loadingAnAdapterIntoAnUninitialisedModelNamesTheKeys(@TempDir Path dir) throws Exception {
        try (Model trained = LoraModelTest.model("PyTorch")) {
            LoraModel.apply(trained, LoraModelTest.qkvProj()).saveAdapter(dir);
        }
        try (Model fresh = Model.newInstance("tiny", "PyTorch")) {
            Engine.getEngine("PyTorch").setRandomSeed(3);
            fresh.setBlock(new TinyVit(2, LoraModelTest.DIM, 3));
            LoraModel lora = LoraModel.apply(fresh, LoraModelTest.qkvProj());
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> lora.loadAdapter(dir));
            assertTrue(e.getMessage().contains("not initialised"), e.getMessage());
            assertTrue(
                    e.getMessage().contains("base_model.model.blocks.0.qkv.lora_A.weight"),
                    e.getMessage());
        }
    }

    @Test
    void aPreparationAdaptsTheRestOfAModelThatAlreadyHasLbpLayers() {
        try (Model model = LoraModelTest.model("PyTorch")) {
            rewriter(TargetModules.names("qkv"), GRID_4X4).apply(model);
            FineTuning.builder()
                    .optLbp(rewriter(TargetModules.names("qkv", "fc1"), GRID_4X4))
                    .build()
                    .apply(model);
            Map<String, LbpLinear> layers = lbpLayers(model);
            assertEquals(
                    List.of("blocks.0.qkv", "blocks.0.fc1", "blocks.1.qkv", "blocks.1.fc1"),
                    List.copyOf(layers.keySet()));
            assertInstanceOf(Linear.class, BlockTree.modules(model.getBlock()).get("blocks.0.fc2"));
        }
    }
}
