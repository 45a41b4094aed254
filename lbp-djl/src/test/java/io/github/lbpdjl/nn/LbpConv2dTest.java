package io.github.lbpdjl.nn;

import static io.github.lbpdjl.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.testing.ConvLayerRun;
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

/**
 * The checks of docs/METHOD.md for the 1x1 convolution, on both engines: the H x W positions of a
 * (B, C, H, W) input are the tokens, so the layer must give what {@link ReferenceLbp} gives on the
 * tokens (B, H*W, C), and what DJL's own Conv2d gives wherever the method is exact. Grids 56x56,
 * 28x28, 14x14, 7x7 (those of the paper's convolutional stages) and 9x13 (not square, padded on
 * both axes), batch 2 or 3. Reflect padding is checked against the authors' computation in {@link
 * AuthorsPointwiseConv}.
 */
class LbpConv2dTest {

    private static final double TOL = 2e-5;
    private static final String[] ENGINES = {"PyTorch", "MXNet"};
    private static final int[][] GRIDS = {{56, 56}, {28, 28}, {14, 14}, {7, 7}, {9, 13}};
    private static final int CIN = 6;
    private static final int COUT = 5;

    static Stream<Arguments> cases() {
        BasisSelection[] selections = {
            BasisSelection.lowPassL1(1),
            BasisSelection.lowPassL1(2),
            BasisSelection.lowPassL1(4),
            BasisSelection.lowPassL1(6),
            BasisSelection.lowPassLinf(3),
            BasisSelection.of(
                    new int[] {0, 0}, new int[] {1, 2}, new int[] {3, 5}, new int[] {7, 7})
        };
        List<Arguments> list = new ArrayList<>();
        for (String engine : ENGINES) {
            for (int[] g : GRIDS) {
                for (BasisSelection s : selections) {
                    list.add(Arguments.of(engine, g[0], g[1], s));
                }
            }
        }
        return list.stream();
    }

    static Stream<Arguments> engines() {
        return Stream.of(ENGINES).map(Arguments::of);
    }

    static LbpConv2d layer(LbpConfig config) {
        return LbpConv2d.builder().setFilters(COUT).optConfig(config).build();
    }

    static Conv2d conv() {
        return Conv2d.builder().setFilters(COUT).setKernelShape(new Shape(1, 1)).build();
    }

    /**
     * Checks 2, 4 and 5: any k gives grad_W = (P gy)^T x and grad_x = (P gy) W as the reference
     * computes them on the tokens; the forward value is Conv2d's; grad_b is Conv2d's.
     */
    @ParameterizedTest(name = "{0} {1}x{2} {3}")
    @MethodSource("cases")
    void gradientsMatchIndependentReference(String engine, int h, int w, BasisSelection sel) {
        LayerRun.Data d = new LayerRun.Data(31L * h * w + sel.hashCode(), 2, h * w, CIN, COUT);
        LbpConfig config = LbpConfig.builder().optSelection(sel).build();
        ConvLayerRun lbp = ConvLayerRun.run(engine, layer(config), d, h, w, true);
        ConvLayerRun exact = ConvLayerRun.run(engine, conv(), d, h, w, true);
        ReferenceLbp.Grads ref =
                ReferenceLbp.lbp(d.x, d.w, d.gy, 0, h, w, 8, sel.bases(8), Padding.ZERO);

        assertClose(lbp.y, exact.y, TOL, "forward equals Conv2d");
        assertClose(lbp.grads.w, ref.w, TOL, "grad_W");
        assertClose(lbp.grads.x, ref.x, TOL, "grad_x");
        assertClose(lbp.grads.b, exact.grads.b, TOL, "grad_b equals Conv2d's");
    }

    /**
     * Check 1: all 64 bases with zero padding give full backprop, on every grid (padded or not),
     * against the reference's full backprop and DJL's Conv2d.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void fullRankEqualsFullBackprop(String engine) {
        for (int[] g : GRIDS) {
            int n = g[0] * g[1];
            LayerRun.Data d = new LayerRun.Data(n, 3, n, CIN, COUT);
            LbpConfig config = LbpConfig.builder().optSelection(BasisSelection.all()).build();
            ConvLayerRun lbp = ConvLayerRun.run(engine, layer(config), d, g[0], g[1], true);
            ConvLayerRun exact = ConvLayerRun.run(engine, conv(), d, g[0], g[1], true);
            ReferenceLbp.Grads full = ReferenceLbp.full(d.x, d.w, d.gy);
            String grid = g[0] + "x" + g[1];
            assertClose(lbp.grads.x, full.x, TOL, "grad_x " + grid);
            assertClose(lbp.grads.w, full.w, TOL, "grad_W " + grid);
            assertClose(lbp.grads.b, full.b, TOL, "grad_b " + grid);
            assertClose(exact.grads.x, full.x, TOL, "Conv2d's grad_x " + grid);
            assertClose(exact.grads.w, full.w, TOL, "Conv2d's grad_W " + grid);
        }
    }

    /**
     * Check 3: basis (0, 0) alone is gradient filtering: gy replaced by its mean over each 8x8
     * patch of the zero-padded grid (the padding counts as zeros), then exact backprop.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void dcBasisIsGradientFiltering(String engine) {
        for (int[] g : new int[][] {{16, 8}, {14, 14}, {9, 13}, {7, 7}}) {
            int h = g[0];
            int w = g[1];
            int top = ((h + 7) / 8 * 8 - h + 1) / 2;
            int left = ((w + 7) / 8 * 8 - w + 1) / 2;
            LayerRun.Data d = new LayerRun.Data(7, 2, h * w, 5, 3);
            double[][][] filtered = new double[2][h * w][3];
            for (int b = 0; b < 2; b++) {
                for (int t = 0; t < h * w; t++) {
                    for (int u = 0; u < h * w; u++) {
                        boolean samePatch =
                                (t / w + top) / 8 == (u / w + top) / 8
                                        && (t % w + left) / 8 == (u % w + left) / 8;
                        for (int o = 0; o < 3 && samePatch; o++) {
                            filtered[b][t][o] += d.gy[b][u][o] / 64.0;
                        }
                    }
                }
            }
            ReferenceLbp.Grads gf = ReferenceLbp.full(d.x, d.w, filtered);
            LbpConfig config =
                    LbpConfig.builder().optSelection(BasisSelection.lowPassL1(1)).build();
            LbpConv2d l = LbpConv2d.builder().setFilters(3).optConfig(config).build();
            ConvLayerRun lbp = ConvLayerRun.run(engine, l, d, h, w, true);
            assertClose(lbp.grads.x, gf.x, TOL, "grad_x " + h + "x" + w);
            assertClose(lbp.grads.w, gf.w, TOL, "grad_W " + h + "x" + w);
        }
    }

    /**
     * Reflect padding is what the authors' code computes for a 1x1 convolution ({@link
     * AuthorsPointwiseConv}); the reference's reflect rule is the same as theirs on a conv input.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void reflectPaddingIsTheAuthorsComputation(String engine) {
        int[][] theirs = AuthorsPointwiseConv.hadamardFunc(8);
        for (int k = 0; k < 8; k++) {
            assertArrayEquals(ReferenceLbp.walsh(8)[k], theirs[k], "their basis row " + k);
        }
        BasisSelection sel = BasisSelection.lowPassL1(4);
        for (int[] g : GRIDS) {
            int h = g[0];
            int w = g[1];
            LayerRun.Data d = new LayerRun.Data(11L * h + w, 2, h * w, CIN, COUT);
            ReferenceLbp.Grads authors =
                    AuthorsPointwiseConv.backward(d.x, d.w, d.gy, h, w, 8, sel.bases(8));
            ReferenceLbp.Grads ref =
                    ReferenceLbp.lbp(d.x, d.w, d.gy, 0, h, w, 8, sel.bases(8), Padding.REFLECT);
            String grid = h + "x" + w;
            assertClose(ref.w, authors.w, 1e-12, "reference grad_W is the authors' " + grid);
            assertClose(ref.x, authors.x, 1e-12, "reference grad_x is the authors' " + grid);
            LbpConfig config =
                    LbpConfig.builder().optSelection(sel).optPadding(Padding.REFLECT).build();
            ConvLayerRun lbp = ConvLayerRun.run(engine, layer(config), d, h, w, true);
            assertClose(lbp.grads.w, authors.w, TOL, "grad_W " + grid);
            assertClose(lbp.grads.x, authors.x, TOL, "grad_x " + grid);
            assertClose(lbp.grads.b, authors.b, TOL, "grad_b " + grid);
        }
    }

    /**
     * Check 4: inference, and training with LBP-WHT switched off, are exactly Conv2d (forward and
     * gradients); a configured layout that is the input's grid is used as it is.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void inferenceAndDisabledAreConv2d(String engine) {
        LayerRun.Data d = new LayerRun.Data(3, 2, 9 * 13, CIN, COUT);
        LbpConfig config = LbpConfig.builder().optSelection(BasisSelection.lowPassL1(2)).build();
        ConvLayerRun exact = ConvLayerRun.run(engine, conv(), d, 9, 13, true);
        assertClose(
                ConvLayerRun.run(engine, layer(config), d, 9, 13, false).y,
                exact.y,
                0,
                "inference");
        LbpConv2d off = layer(config);
        off.setLbpEnabled(false);
        ConvLayerRun r = ConvLayerRun.run(engine, off, d, 9, 13, true);
        assertClose(r.y, exact.y, 0, "LBP off: forward is Conv2d's");
        assertClose(r.grads.w, exact.grads.w, 0, "LBP off: grad_W is Conv2d's");
        assertClose(r.grads.x, exact.grads.x, 0, "LBP off: grad_x is Conv2d's");
        assertClose(r.grads.b, exact.grads.b, 0, "LBP off: grad_b is Conv2d's");

        LbpConfig withGrid = config.toBuilder().optLayout(TokenLayout.grid(0, 9, 13)).build();
        ConvLayerRun fits = ConvLayerRun.run(engine, layer(withGrid), d, 9, 13, true);
        ReferenceLbp.Grads ref =
                ReferenceLbp.lbp(
                        d.x, d.w, d.gy, 0, 9, 13, 8, config.getSelection().bases(8), Padding.ZERO);
        assertClose(fits.grads.w, ref.w, TOL, "configured grid: grad_W");
        assertClose(fits.y, exact.y, TOL, "configured grid: forward");
    }

    /** No bias: the weight and input gradients are unchanged. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void noBias(String engine) {
        LayerRun.Data d = new LayerRun.Data(5, 3, 14 * 14, 4, 3);
        LbpConfig config = LbpConfig.builder().optSelection(BasisSelection.lowPassL1(4)).build();
        LbpConv2d l = LbpConv2d.builder().setFilters(3).optBias(false).optConfig(config).build();
        ConvLayerRun run = ConvLayerRun.run(engine, l, d, 14, 14, true);
        ReferenceLbp.Grads ref =
                ReferenceLbp.lbp(
                        d.x, d.w, d.gy, 0, 14, 14, 8, config.getSelection().bases(8), Padding.ZERO);
        assertClose(run.grads.w, ref.w, TOL, "grad_W without bias");
        assertClose(run.grads.x, ref.x, TOL, "grad_x without bias");
    }
}
