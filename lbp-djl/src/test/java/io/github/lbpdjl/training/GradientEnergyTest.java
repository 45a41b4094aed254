package io.github.lbpdjl.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.Padding;
import io.github.lbpdjl.wht.PatchProjection;
import io.github.lbpdjl.wht.TokenLayout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GradientEnergyTest {

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void energiesAddUpAndFractionsMatch(String engine) {
        TokenLayout layout = TokenLayout.grid(1, 7, 10);
        try (NDManager m = Engine.getEngine(engine).newBaseManager()) {
            NDArray gy = m.randomNormal(new Shape(3, layout.getTokenCount(), 4));
            double grid = gy.get(":, 1:, :").square().sum().getFloat();
            double[] e = GradientEnergy.perBasis(gy, layout, LbpConfig.builder().build());
            assertEquals(64, e.length);
            assertEquals(
                    grid,
                    java.util.Arrays.stream(e).sum(),
                    1e-3 * grid,
                    "orthogonal bases: energies add up");

            // the fraction kept by LP_L1-2 equals the energy of its 3 bases
            PatchProjection p =
                    PatchProjection.of(layout, 8, BasisSelection.lowPassL1(2), Padding.ZERO);
            NDArray q = m.create(p.gather(), new Shape(p.getRows(), p.getTokens()));
            double kept = GradientEnergy.keptFraction(gy, q, 1, 8);
            int[][] all = BasisSelection.all().bases(8);
            double expected = 0;
            for (int i = 0; i < all.length; i++) {
                if (all[i][0] + all[i][1] < 2) {
                    expected += e[i];
                }
            }
            assertEquals(expected / grid, kept, 1e-4);
        }
    }

    @org.junit.jupiter.api.Test
    void selectKeepsFewestBasesReachingTheTarget() {
        double[] e = new double[64];
        e[0] = 50;
        e[5] = 30;
        e[9] = 15;
        e[63] = 5;
        BasisSelection s = GradientEnergy.select(e, 8, 0.8, 10);
        int[][] all = BasisSelection.all().bases(8);
        assertEquals(2, s.count(8));
        assertEquals(
                java.util.List.of(all[0][0], all[0][1], all[5][0], all[5][1]),
                java.util.List.of(
                        s.bases(8)[0][0], s.bases(8)[0][1], s.bases(8)[1][0], s.bases(8)[1][1]));
        assertEquals(3, GradientEnergy.select(e, 8, 0.95, 10).count(8));
        assertEquals(2, GradientEnergy.select(e, 8, 1.0, 2).count(8), "capped by kMax");
        assertEquals(
                1,
                GradientEnergy.select(new double[64], 8, 0.9, 10).count(8),
                "zero energy keeps one basis");
        assertThrows(IllegalArgumentException.class, () -> GradientEnergy.select(e, 8, 0, 10));
        assertThrows(
                IllegalArgumentException.class,
                () -> GradientEnergy.select(new double[3], 8, 0.5, 10));
    }
}
