package io.github.lbpdjl.nn;

import static io.github.lbpdjl.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.engine.ProjectionForms;
import io.github.lbpdjl.testing.ConvLayerRun;
import io.github.lbpdjl.testing.LayerRun;
import io.github.lbpdjl.testing.ReferenceLbp;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.Padding;
import io.github.lbpdjl.wht.PatchProjection;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The per-patch (factored) projection against an independent dense computation: Q, Qs and the
 * cropping Q built here, literally, as matrices over the tokens, and the LBP-WHT gradients formed
 * with them in double precision ({@code grad_W = (Qs gy)^T (Q x)}, {@code grad_x = Q_crop^T (Qs gy)
 * W}, exact bias). Large grids (56 x 56, 28 x 28 padded), extra tokens, both paddings, batch 2,
 * bias or none, both engines; the library's dense form must agree too, and so must the 1x1
 * convolution.
 */
class FactoredProjectionTest {

    private static final double TOL = 2e-5;
    private static final String[] ENGINES = {"PyTorch", "MXNet"};
    private static final int[][] LAYOUTS = {{0, 56, 56}, {0, 28, 28}, {1, 14, 14}, {2, 7, 10}};

    @AfterEach
    void restoreForm() {
        ProjectionForms.setForm(ProjectionForms.Form.AUTO);
    }

    static Stream<Arguments> cases() {
        BasisSelection[] selections = {
            BasisSelection.lowPassL1(2),
            BasisSelection.lowPassL1(6),
            BasisSelection.of(new int[] {0, 0}, new int[] {3, 1}, new int[] {7, 6})
        };
        List<Arguments> list = new ArrayList<>();
        for (String engine : ENGINES) {
            for (int[] g : LAYOUTS) {
                for (Padding padding : Padding.values()) {
                    for (BasisSelection s : selections) {
                        boolean bias = list.size() % 2 == 0;
                        list.add(Arguments.of(engine, g[0], g[1], g[2], s, padding, bias));
                    }
                }
            }
        }
        return list.stream();
    }

    @ParameterizedTest(name = "{0} E={1} {2}x{3} {4} {5} bias={6}")
    @MethodSource("cases")
    void factoredEqualsIndependentDense(
            String engine,
            int extra,
            int h,
            int w,
            BasisSelection sel,
            Padding padding,
            boolean bias) {
        int n = extra + h * w;
        LayerRun.Data d = new LayerRun.Data(17L * n + sel.count(8), 2, n, 4, 3);
        LbpConfig config =
                LbpConfig.builder()
                        .optSelection(sel)
                        .optPadding(padding)
                        .optLayout(TokenLayout.grid(extra, h, w))
                        .build();
        DenseGrads ref = DenseGrads.of(d, extra, h, w, sel.bases(8), padding);

        ProjectionForms.setForm(ProjectionForms.Form.FACTORED);
        LayerRun factored = LayerRun.run(engine, layer(config, bias), d, true);
        assertClose(factored.y, ref.y(bias), TOL, "forward");
        assertClose(factored.grads.w, ref.w, TOL, "grad_W");
        assertClose(factored.grads.x, ref.x, TOL, "grad_x");
        if (bias) {
            assertClose(factored.grads.b, ref.b, TOL, "grad_b");
        }

        ProjectionForms.setForm(ProjectionForms.Form.DENSE);
        LayerRun dense = LayerRun.run(engine, layer(config, bias), d, true);
        assertClose(factored.grads.w, dense.grads.w, TOL, "grad_W, factored against dense");
        assertClose(factored.grads.x, dense.grads.x, TOL, "grad_x, factored against dense");
    }

    /** The 1x1 convolution goes through the same projection: 56 x 56 and padded 28 x 28. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void convolutionUsesTheFactoredProjection(String engine) {
        ProjectionForms.setForm(ProjectionForms.Form.FACTORED);
        for (int side : new int[] {56, 28}) {
            for (Padding padding : Padding.values()) {
                LayerRun.Data d = new LayerRun.Data(side, 2, side * side, 4, 3);
                BasisSelection sel = BasisSelection.lowPassL1(4);
                LbpConfig config =
                        LbpConfig.builder().optSelection(sel).optPadding(padding).build();
                LbpConv2d conv = LbpConv2d.builder().setFilters(3).optConfig(config).build();
                ConvLayerRun run = ConvLayerRun.run(engine, conv, d, side, side, true);
                DenseGrads ref = DenseGrads.of(d, 0, side, side, sel.bases(8), padding);
                String what = side + "x" + side + " " + padding;
                assertClose(run.y, ref.y(true), TOL, "forward " + what);
                assertClose(run.grads.w, ref.w, TOL, "grad_W " + what);
                assertClose(run.grads.x, ref.x, TOL, "grad_x " + what);
                assertClose(run.grads.b, ref.b, TOL, "grad_b " + what);
            }
        }
    }

    static Stream<Arguments> engines() {
        return Stream.of(ENGINES).map(Arguments::of);
    }

    @Test
    void ruleKeepsSmallProjectionsDense() {
        BasisSelection lp6 = BasisSelection.lowPassL1(6);
        BasisSelection lp2 = BasisSelection.lowPassL1(2);
        assertTrue(dense(TokenLayout.grid(1, 14, 14), lp6), "ViT-B, LP_L1-6: M = 85");
        assertTrue(dense(TokenLayout.grid(0, 28, 28), lp2), "28x28, LP_L1-2: M = 48");
        assertFalse(dense(TokenLayout.grid(0, 28, 28), lp6), "28x28, LP_L1-6: M = 336");
        assertFalse(dense(TokenLayout.grid(0, 56, 56), lp2), "56x56, LP_L1-2: M = 147");
        ProjectionForms.setForm(ProjectionForms.Form.DENSE);
        assertTrue(dense(TokenLayout.grid(0, 56, 56), lp2), "forced dense");
        ProjectionForms.setForm(ProjectionForms.Form.FACTORED);
        assertFalse(dense(TokenLayout.grid(1, 14, 14), lp2), "forced per patch");
    }

    private static boolean dense(TokenLayout layout, BasisSelection sel) {
        return ProjectionForms.isDense(PatchProjection.of(layout, 8, sel, Padding.ZERO));
    }

    private static LbpLinear layer(LbpConfig config, boolean bias) {
        return LbpLinear.builder().setUnits(3).optBias(bias).optConfig(config).build();
    }

    /** The LBP-WHT gradients of one layer from dense matrices built here, in double precision. */
    private static final class DenseGrads {
        double[][][] x;
        double[][] w;
        double[] b;
        private LayerRun.Data data;

        static DenseGrads of(
                LayerRun.Data d, int extra, int h, int wd, int[][] bases, Padding padding) {
            int p = 8;
            double[][] gather = matrix(extra, h, wd, p, bases, padding == Padding.REFLECT);
            double[][] crop = matrix(extra, h, wd, p, bases, false);
            int m = gather.length;
            int n = gather[0].length;
            int batch = d.x.length;
            int cin = d.w[0].length;
            int cout = d.w.length;
            DenseGrads g = new DenseGrads();
            g.data = d;
            g.x = new double[batch][n][cin];
            g.w = new double[cout][cin];
            g.b = new double[cout];
            for (int s = 0; s < batch; s++) {
                double[][] xk = product(gather, d.x[s], 1.0, extra); // Q x
                double[][] gk = product(gather, d.gy[s], 1.0 / (p * p), extra); // Qs gy
                double[][] gkw = new double[m][cin]; // (Qs gy) W
                for (int r = 0; r < m; r++) {
                    for (int o = 0; o < cout; o++) {
                        for (int c = 0; c < cin; c++) {
                            g.w[o][c] += gk[r][o] * xk[r][c];
                            gkw[r][c] += gk[r][o] * d.w[o][c];
                        }
                    }
                }
                for (int r = 0; r < m; r++) { // Q_crop^T (Qs gy) W
                    for (int t = 0; t < n; t++) {
                        if (crop[r][t] != 0) {
                            for (int c = 0; c < cin; c++) {
                                g.x[s][t][c] += crop[r][t] * gkw[r][c];
                            }
                        }
                    }
                }
                for (int t = 0; t < n; t++) {
                    for (int o = 0; o < cout; o++) {
                        g.b[o] += d.gy[s][t][o];
                    }
                }
            }
            return g;
        }

        /** The exact forward x W^T (+ b). */
        double[][][] y(boolean bias) {
            int batch = data.x.length;
            int n = data.x[0].length;
            int cout = data.w.length;
            double[][][] y = new double[batch][n][cout];
            for (int s = 0; s < batch; s++) {
                for (int t = 0; t < n; t++) {
                    for (int o = 0; o < cout; o++) {
                        double v = bias ? data.b[o] : 0;
                        for (int c = 0; c < data.w[0].length; c++) {
                            v += data.x[s][t][c] * data.w[o][c];
                        }
                        y[s][t][o] = v;
                    }
                }
            }
            return y;
        }

        /** rows = A v with the patch rows (after the extra ones) scaled. */
        private static double[][] product(double[][] a, double[][] v, double scale, int extra) {
            double[][] out = new double[a.length][v[0].length];
            for (int r = 0; r < a.length; r++) {
                double f = r < extra ? 1.0 : scale;
                for (int t = 0; t < a[r].length; t++) {
                    if (a[r][t] != 0) {
                        for (int c = 0; c < v[0].length; c++) {
                            out[r][c] += f * a[r][t] * v[t][c];
                        }
                    }
                }
            }
            return out;
        }

        /**
         * Q (M x N): row e selects extra token e; row E + patch * k + b holds basis b over the
         * patch of the centred, padded grid; padded positions are left out, or with {@code fold}
         * added onto the token they mirror (without repeating the edge).
         */
        private static double[][] matrix(
                int extra, int h, int wd, int p, int[][] bases, boolean fold) {
            int hp = (h + p - 1) / p * p;
            int wp = (wd + p - 1) / p * p;
            int top = (hp - h + 1) / 2;
            int left = (wp - wd + 1) / 2;
            int patches = (hp / p) * (wp / p);
            int[][] walsh = ReferenceLbp.walsh(p);
            double[][] q = new double[extra + bases.length * patches][extra + h * wd];
            for (int e = 0; e < extra; e++) {
                q[e][e] = 1;
            }
            for (int pr = 0; pr < hp / p; pr++) {
                for (int pc = 0; pc < wp / p; pc++) {
                    for (int b = 0; b < bases.length; b++) {
                        double[] row = q[extra + (pr * (wp / p) + pc) * bases.length + b];
                        for (int i = 0; i < p; i++) {
                            for (int j = 0; j < p; j++) {
                                int gi = pr * p + i - top;
                                int gj = pc * p + j - left;
                                boolean inside = gi >= 0 && gi < h && gj >= 0 && gj < wd;
                                if (!inside && !fold) {
                                    continue;
                                }
                                gi = gi < 0 ? -gi : (gi >= h ? 2 * (h - 1) - gi : gi);
                                gj = gj < 0 ? -gj : (gj >= wd ? 2 * (wd - 1) - gj : gj);
                                row[extra + gi * wd + gj] +=
                                        walsh[bases[b][0]][i] * walsh[bases[b][1]][j];
                            }
                        }
                    }
                }
            }
            return q;
        }
    }
}
