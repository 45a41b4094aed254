package io.github.lbpdjl.nn;

import static io.github.lbpdjl.testing.Close.assertClose;

import ai.djl.nn.core.Linear;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.testing.LayerRun;
import io.github.lbpdjl.testing.ReferenceLbp;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.Padding;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The checks of docs/METHOD.md, on both engines, against {@link ReferenceLbp} and Linear. */
class LbpLinearGradientTest {

    private static final double TOL = 2e-5;
    private static final String[] ENGINES = {"PyTorch", "MXNet"};
    private static final int[][] GRIDS = {
        {0, 14, 14}, {1, 14, 14}, {2, 7, 10}, {1, 9, 17}, {0, 16, 8}, {1, 8, 8}
    };

    static Stream<Arguments> cases() {
        BasisSelection[] selections = {
            BasisSelection.lowPassL1(1),
            BasisSelection.lowPassL1(2),
            BasisSelection.lowPassL1(4),
            BasisSelection.lowPassL1(6),
            BasisSelection.lowPassLinf(3),
            BasisSelection.of(
                    new int[] {0, 0}, new int[] {1, 2}, new int[] {3, 5}, new int[] {7, 7}),
            BasisSelection.all()
        };
        List<Arguments> list = new ArrayList<>();
        for (String engine : ENGINES) {
            for (int[] g : GRIDS) {
                for (BasisSelection s : selections) {
                    list.add(Arguments.of(engine, g[0], g[1], g[2], s, Padding.ZERO));
                }
                list.add(
                        Arguments.of(
                                engine,
                                g[0],
                                g[1],
                                g[2],
                                BasisSelection.lowPassL1(4),
                                Padding.REFLECT));
            }
        }
        return list.stream();
    }

    static Stream<Arguments> engines() {
        return Stream.of(ENGINES).map(Arguments::of);
    }

    private static LbpLinear layer(int cout, LbpConfig config) {
        return LbpLinear.builder().setUnits(cout).optConfig(config).build();
    }

    /** Test 2, 4 and 5: closed form against the reference, exact bias and extra tokens, forward. */
    @ParameterizedTest(name = "{0} E={1} {2}x{3} {4} {5}")
    @MethodSource("cases")
    void gradientsMatchIndependentReference(
            String engine, int extra, int h, int w, BasisSelection sel, Padding padding) {
        int n = extra + h * w;
        LayerRun.Data d = new LayerRun.Data(31L * n + sel.hashCode(), 2, n, 6, 5);
        LbpConfig config =
                LbpConfig.builder()
                        .optSelection(sel)
                        .optPadding(padding)
                        .optLayout(TokenLayout.grid(extra, h, w))
                        .build();
        LayerRun lbp = LayerRun.run(engine, layer(5, config), d, true);
        LayerRun lin = LayerRun.run(engine, Linear.builder().setUnits(5).build(), d, true);
        ReferenceLbp.Grads ref =
                ReferenceLbp.lbp(d.x, d.w, d.gy, extra, h, w, 8, sel.bases(8), padding);

        assertClose(lbp.y, lin.y, TOL, "forward equals Linear");
        assertClose(lbp.grads.w, ref.w, TOL, "grad_W");
        assertClose(lbp.grads.x, ref.x, TOL, "grad_x");
        assertClose(lbp.grads.b, lin.grads.b, TOL, "grad_b equals Linear's");
        for (int b = 0; b < 2; b++) {
            for (int e = 0; e < extra; e++) {
                assertClose(
                        lbp.grads.x[b][e], lin.grads.x[b][e], TOL, "grad_x of extra token " + e);
            }
        }
    }

    /**
     * A layer keeps its projection matrices between passes: after a new selection it must use the
     * new matrices, never stale ones.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void keptProjectionFollowsTheConfiguration(String engine) {
        int extra = 1;
        int h = 9;
        int w = 17;
        int n = extra + h * w;
        LayerRun.Data d = new LayerRun.Data(5, 2, n, 6, 5);
        LbpConfig a =
                LbpConfig.builder()
                        .optSelection(BasisSelection.lowPassL1(2))
                        .optLayout(TokenLayout.grid(extra, h, w))
                        .build();
        LbpConfig b = a.toBuilder().optSelection(BasisSelection.lowPassLinf(3)).build();
        ReferenceLbp.Grads refA =
                ReferenceLbp.lbp(
                        d.x, d.w, d.gy, extra, h, w, 8, a.getSelection().bases(8), Padding.ZERO);
        ReferenceLbp.Grads refB =
                ReferenceLbp.lbp(
                        d.x, d.w, d.gy, extra, h, w, 8, b.getSelection().bases(8), Padding.ZERO);
        LbpLinear layer = layer(5, a);
        try (ai.djl.ndarray.NDManager m = ai.djl.engine.Engine.getEngine(engine).newBaseManager()) {
            assertClose(LayerRun.runIn(m, layer, d, true, true).grads.w, refA.w, TOL, "grad_W, A");
            assertClose(
                    LayerRun.runIn(m, layer, d, true, false).grads.w,
                    refA.w,
                    TOL,
                    "grad_W, A again");
            layer.setConfig(b);
            LayerRun rb = LayerRun.runIn(m, layer, d, true, false);
            assertClose(rb.grads.w, refB.w, TOL, "grad_W after switching to B");
            assertClose(rb.grads.x, refB.x, TOL, "grad_x after switching to B");
            layer.setConfig(a);
            assertClose(
                    LayerRun.runIn(m, layer, d, true, false).grads.x,
                    refA.x,
                    TOL,
                    "grad_x back to A");
        }
    }

    /** Test 1: all bases with zero padding give exactly full backprop (any grid with ZERO). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void fullRankEqualsFullBackprop(String engine) {
        for (int[] g : GRIDS) {
            int n = g[0] + g[1] * g[2];
            LayerRun.Data d = new LayerRun.Data(n, 3, n, 7, 4);
            LbpConfig config =
                    LbpConfig.builder()
                            .optSelection(BasisSelection.all())
                            .optLayout(TokenLayout.grid(g[0], g[1], g[2]))
                            .build();
            LayerRun lbp = LayerRun.run(engine, layer(4, config), d, true);
            ReferenceLbp.Grads full = ReferenceLbp.full(d.x, d.w, d.gy);
            assertClose(lbp.grads.x, full.x, TOL, "grad_x " + n);
            assertClose(lbp.grads.w, full.w, TOL, "grad_W " + n);
            assertClose(lbp.grads.b, full.b, TOL, "grad_b " + n);
        }
    }

    /** Test 3: basis (0,0) alone is patch-mean gradient filtering. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void dcBasisIsGradientFiltering(String engine) {
        int extra = 1;
        int h = 16;
        int w = 8;
        int n = extra + h * w;
        LayerRun.Data d = new LayerRun.Data(7, 2, n, 5, 3);
        // gradient filtering: replace gy on the grid by its 8x8 patch mean, then exact backprop
        double[][][] filtered = new double[2][n][];
        for (int b = 0; b < 2; b++) {
            filtered[b][0] = d.gy[b][0].clone();
            for (int t = 0; t < h * w; t++) {
                int pi = (t / w) / 8;
                int pj = (t % w) / 8;
                double[] mean = new double[3];
                for (int u = 0; u < h * w; u++) {
                    if ((u / w) / 8 == pi && (u % w) / 8 == pj) {
                        for (int o = 0; o < 3; o++) {
                            mean[o] += d.gy[b][extra + u][o] / 64.0;
                        }
                    }
                }
                filtered[b][extra + t] = mean;
            }
        }
        ReferenceLbp.Grads gf = ReferenceLbp.full(d.x, d.w, filtered);
        LbpConfig config =
                LbpConfig.builder()
                        .optSelection(BasisSelection.lowPassL1(1))
                        .optLayout(TokenLayout.grid(extra, h, w))
                        .build();
        LayerRun lbp = LayerRun.run(engine, layer(3, config), d, true);
        assertClose(lbp.grads.x, gf.x, TOL, "grad_x");
        assertClose(lbp.grads.w, gf.w, TOL, "grad_W");
    }

    /** Inference and LBP switched off are exactly Linear; the layout is inferred for E + square. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void inferenceAndDisabledAreLinear(String engine) {
        LayerRun.Data d = new LayerRun.Data(3, 2, 197, 6, 5);
        LbpConfig config = LbpConfig.builder().optSelection(BasisSelection.lowPassL1(2)).build();
        LayerRun lin = LayerRun.run(engine, Linear.builder().setUnits(5).build(), d, true);
        assertClose(LayerRun.run(engine, layer(5, config), d, false).y, lin.y, 0, "inference");
        LayerRun inferred = LayerRun.run(engine, layer(5, config), d, true);
        ReferenceLbp.Grads ref =
                ReferenceLbp.lbp(
                        d.x,
                        d.w,
                        d.gy,
                        1,
                        14,
                        14,
                        8,
                        BasisSelection.lowPassL1(2).bases(8),
                        Padding.ZERO);
        assertClose(inferred.grads.w, ref.w, TOL, "inferred class token + 14x14 layout");
        LbpLinear l = layer(5, config);
        l.setLbpEnabled(false);
        LayerRun off = LayerRun.run(engine, l, d, true);
        assertClose(off.grads.w, lin.grads.w, 0, "LBP off: grad_W is Linear's");
        assertClose(off.grads.x, lin.grads.x, 0, "LBP off: grad_x is Linear's");
    }

    /** No bias, and input with two leading axes. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void noBiasAndMoreLeadingAxes(String engine) {
        LayerRun.Data d = new LayerRun.Data(5, 4, 65, 4, 3);
        LbpConfig config = LbpConfig.builder().optSelection(BasisSelection.lowPassL1(4)).build();
        LbpLinear l = LbpLinear.builder().setUnits(3).optBias(false).optConfig(config).build();
        LayerRun run = LayerRun.run(engine, l, d, true);
        ReferenceLbp.Grads ref =
                ReferenceLbp.lbp(
                        d.x, d.w, d.gy, 1, 8, 8, 8, config.getSelection().bases(8), Padding.ZERO);
        assertClose(run.grads.w, ref.w, TOL, "grad_W without bias");
        assertClose(run.grads.x, ref.x, TOL, "grad_x without bias");
    }
}
