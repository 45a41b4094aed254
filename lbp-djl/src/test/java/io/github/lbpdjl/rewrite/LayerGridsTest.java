package io.github.lbpdjl.rewrite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.modules.LayerGrids;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A model that states each layer's grid ({@link LayerGrids}) gives each adapted layer its layout:
 * grids that cannot be inferred (12 tokens: 3x4 for one layer, 4x3 for the other), a per-pattern
 * layout still first.
 */
class LayerGridsTest {

    /** Two Linear layers (paths "0" and "1") on 12 tokens, read as 3x4 and 4x3 grids. */
    static final class TwoGrids extends SequentialBlock implements LayerGrids {
        TwoGrids() {
            add(Linear.builder().setUnits(5).build());
            add(Linear.builder().setUnits(4).build());
        }

        @Override
        public Map<String, int[]> getLayerGrids() {
            return Map.of("0", new int[] {3, 4}, "1", new int[] {4, 3});
        }
    }

    private static Model model() {
        Model m = Model.newInstance("grids", "PyTorch");
        m.setBlock(new TwoGrids());
        m.getBlock().initialize(m.getNDManager(), DataType.FLOAT32, new Shape(2, 12, 4));
        return m;
    }

    @Test
    void eachLayerTakesTheGridTheModelStates() {
        try (Model m = model()) {
            LbpRewriter r = LbpRewriter.builder().optTargets(TargetModules.names("0", "1")).build();
            Map<String, TokenLayout> plan = r.plan(m);
            assertEquals(TokenLayout.grid(0, 3, 4), plan.get("0"));
            assertEquals(TokenLayout.grid(0, 4, 3), plan.get("1"));
            Map<String, TokenLayout> overridden =
                    LbpRewriter.builder()
                            .optTargets(TargetModules.names("0", "1"))
                            .optLayout(TargetModules.names("1"), TokenLayout.grid(0, 2, 6))
                            .build()
                            .plan(m);
            assertEquals(TokenLayout.grid(0, 3, 4), overridden.get("0"));
            assertEquals(TokenLayout.grid(0, 2, 6), overridden.get("1"), "the pattern's first");

            r.apply(m);
            try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
                NDArray x = m.getNDManager().randomNormal(new Shape(2, 12, 4));
                NDArray y =
                        m.getBlock()
                                .forward(
                                        new ParameterStore(m.getNDManager(), false),
                                        new NDList(x),
                                        true)
                                .singletonOrThrow();
                gc.backward(y.sum());
            }
            assertTrue(m.getBlock().getParameters().valueAt(0).getArray().hasGradient());
        }
    }

    @Test
    void withoutTheModelsGridsTwelveTokensCannotBeInferred() {
        try (Model m = Model.newInstance("plain", "PyTorch")) {
            SequentialBlock plain = new SequentialBlock().add(Linear.builder().setUnits(5).build());
            m.setBlock(plain);
            plain.initialize(m.getNDManager(), DataType.FLOAT32, new Shape(2, 12, 4));
            LbpRewriter r = LbpRewriter.builder().optTargets(TargetModules.names("0")).build();
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> r.plan(m));
            assertTrue(e.getMessage().contains("12 tokens"), e.getMessage());
        }
    }

    /** A grid layer "0", a Linear "1" the model states no grid for, the output layer "2". */
    static final class OneGrid extends SequentialBlock implements LayerGrids {
        OneGrid() {
            add(Linear.builder().setUnits(5).build());
            add(Linear.builder().setUnits(4).build());
            add(Linear.builder().setUnits(3).build());
        }

        @Override
        public Map<String, int[]> getLayerGrids() {
            return Map.of("0", new int[] {3, 4});
        }
    }

    @Test
    void allLinearLeavesOutTheLayersTheModelStatesNoGridFor() {
        try (Model m = Model.newInstance("one-grid", "PyTorch")) {
            m.setBlock(new OneGrid());
            m.getBlock().initialize(m.getNDManager(), DataType.FLOAT32, new Shape(2, 12, 4));
            RewriteReport report = LbpRewriter.builder().build().apply(m);
            assertEquals(java.util.List.of("0"), report.getReplaced());
            assertTrue(
                    report.getLeftOut().get("1").contains("no token grid"),
                    report.getLeftOut().toString());
            assertTrue(report.getLeftOut().get("2").contains("output layer"));
            // named explicitly, it is taken, and its 12 tokens cannot be read as a grid
            LbpRewriter named = LbpRewriter.builder().optTargets(TargetModules.names("1")).build();
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> named.plan(m));
            assertTrue(e.getMessage().contains("12 tokens"), e.getMessage());
        }
    }
}
