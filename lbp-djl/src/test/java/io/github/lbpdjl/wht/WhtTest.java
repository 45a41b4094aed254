package io.github.lbpdjl.wht;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.lbpdjl.testing.ReferenceLbp;
import org.junit.jupiter.api.Test;

class WhtTest {

    @Test
    void walsh8MatchesThePaperRows() {
        String[] rows = {
            "++++++++",
            "++++----",
            "++----++",
            "++--++--",
            "+--++--+",
            "+--+-++-",
            "+-+--+-+",
            "+-+-+-+-"
        };
        int[][] w = WalshMatrix.sequency(8);
        for (int k = 0; k < 8; k++) {
            StringBuilder sb = new StringBuilder();
            for (int v : w[k]) {
                sb.append(v > 0 ? '+' : '-');
            }
            assertEquals(rows[k], sb.toString(), "row " + k);
        }
    }

    @Test
    void walshAgreesWithGrayCodeConstructionAndIsOrthogonal() {
        for (int p = 1; p <= 32; p *= 2) {
            int[][] w = WalshMatrix.sequency(p);
            int[][] ref = ReferenceLbp.walsh(p);
            for (int k = 0; k < p; k++) {
                assertArrayEquals(ref[k], w[k], "p=" + p + " row " + k);
                for (int l = 0; l < p; l++) {
                    int dot = 0;
                    for (int i = 0; i < p; i++) {
                        dot += w[k][i] * w[l][i];
                    }
                    assertEquals(k == l ? p : 0, dot);
                }
            }
        }
    }

    @Test
    void selectionCountsForPatch8() {
        int[] orders = {1, 2, 4, 6, 8, 15};
        int[] counts = {1, 3, 10, 21, 36, 64};
        for (int i = 0; i < orders.length; i++) {
            assertEquals(counts[i], BasisSelection.lowPassL1(orders[i]).count(8));
        }
        assertEquals(9, BasisSelection.lowPassLinf(3).count(8));
        assertEquals(64, BasisSelection.lowPassLinf(8).count(8));
        assertEquals(64, BasisSelection.all().count(8));
        assertEquals(16, BasisSelection.all().count(4));
        for (int[] rc : BasisSelection.lowPassL1(4).bases(8)) {
            assertTrue(rc[0] + rc[1] < 4);
        }
    }

    @Test
    void badSelectionsAreRejectedWithClearMessages() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> BasisSelection.lowPassL1(0));
        assertTrue(e.getMessage().contains("order must be >= 1, got 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BasisSelection.lowPassLinf(-1));
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> BasisSelection.of(new int[] {0, 0}, new int[] {8, 1}).bases(8));
        assertTrue(
                e.getMessage().contains("[8, 1]") && e.getMessage().contains("8x8"),
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BasisSelection.of(new int[] {0}));
        assertThrows(
                IllegalArgumentException.class,
                () -> BasisSelection.of(new int[] {1, 1}, new int[] {1, 1}));
        assertThrows(IllegalArgumentException.class, BasisSelection::of);
        e = assertThrows(IllegalArgumentException.class, () -> BasisSelection.all().bases(6));
        assertTrue(
                e.getMessage().contains("power of two") && e.getMessage().contains("6"),
                e.getMessage());
    }

    @Test
    void layoutInference() {
        assertEquals(TokenLayout.grid(1, 14, 14), TokenLayout.inferSquare(197));
        assertEquals(TokenLayout.grid(2, 14, 14), TokenLayout.inferSquare(198));
        assertEquals(TokenLayout.grid(0, 14, 14), TokenLayout.inferSquare(196));
        assertEquals(TokenLayout.grid(1, 8, 8), TokenLayout.inferSquare(65));
        assertNull(TokenLayout.inferSquare(200));
        assertNull(TokenLayout.inferSquare(0));
        assertThrows(IllegalArgumentException.class, () -> TokenLayout.grid(-1, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> TokenLayout.grid(0, 2));
    }

    @Test
    void projectionIsAProjectorWithCenteredPadding() {
        // 7x10 grid, 1 extra token: padded to 8x16, top = 1 row, left = 3 columns.
        PatchProjection p =
                PatchProjection.of(
                        TokenLayout.grid(1, 7, 10), 8, BasisSelection.all(), Padding.ZERO);
        assertEquals(1 + 64 * 2, p.getRows());
        assertEquals(71, p.getTokens());
        float[] q = p.gather();
        float[] qs = p.spread();
        int m = p.getRows();
        int n = p.getTokens();
        // P = Qs^T Q is the identity at full rank with zero padding
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double v = 0;
                for (int r = 0; r < m; r++) {
                    v += qs[r * n + i] * q[r * n + j];
                }
                assertEquals(i == j ? 1.0 : 0.0, v, 1e-6, "P[" + i + "," + j + "]");
            }
        }
        // basis (0,0) of the first patch covers grid rows 0..6 and columns 0..4 (3 padded on the
        // left)
        PatchProjection dc =
                PatchProjection.of(
                        TokenLayout.grid(1, 7, 10), 8, BasisSelection.lowPassL1(1), Padding.ZERO);
        float[] g = dc.gather();
        int covered = 0;
        for (int t = 1; t < n; t++) {
            int row = (t - 1) / 10;
            int col = (t - 1) % 10;
            boolean inFirst = col < 5;
            assertEquals(inFirst ? 1f : 0f, g[1 * n + t], "token row " + row + " col " + col);
            covered += g[1 * n + t] != 0 ? 1 : 0;
        }
        assertEquals(35, covered);
    }

    @Test
    void reflectIndex() {
        assertEquals(1, PatchProjection.reflect(-1, 5));
        assertEquals(3, PatchProjection.reflect(5, 5));
        assertEquals(0, PatchProjection.reflect(-3, 1));
        assertEquals(2, PatchProjection.reflect(-2, 3));
    }
}
