package io.github.lbpdjl.peft;

import static io.github.lbpdjl.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.testing.LayerRun;
import io.github.lbpdjl.testing.ReferenceLbp;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.Padding;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LoraLinear against independent double-precision computations: plain LoRA, LoRA + LBP-WHT with all
 * bases (= plain LoRA) and with k bases (closed form from {@link ReferenceLbp}), inference, merge,
 * dropout and bad input; on PyTorch and MXNet.
 */
class LoraLinearTest {

    static final double TOL = 2e-5;
    static final int CIN = 6;
    static final int COUT = 5;
    static final int R = 3;
    static final float ALPHA = 6;

    /** Random x, W, b, gy plus A and B (B non-zero so that grad_A is not zero). */
    static final class Data {
        final LayerRun.Data base;
        final double[][] a;
        final double[][] b;

        Data(long seed, int batch, int tokens) {
            base = new LayerRun.Data(seed, batch, tokens, CIN, COUT);
            Random r = new Random(seed + 1);
            a = new double[R][CIN];
            b = new double[COUT][R];
            for (double[] row : a) {
                for (int i = 0; i < row.length; i++) {
                    row[i] = r.nextGaussian();
                }
            }
            for (double[] row : b) {
                for (int i = 0; i < row.length; i++) {
                    row[i] = r.nextGaussian();
                }
            }
        }
    }

    /** Results of one run. */
    static final class Run {
        double[][][] y;
        double[][][] gx;
        double[][] ga;
        double[][] gb;
    }

    static LoraLinear layer(LbpConfig lbp, float dropout) {
        return LoraLinear.builder()
                .setUnits(COUT)
                .optRank(R)
                .optAlpha(ALPHA)
                .optDropout(dropout)
                .optConfig(lbp)
                .optName("blocks.0.attn.qkv")
                .build();
    }

    static void set(LoraLinear l, Data d) {
        l.getParameters().get("weight").getArray().set(LayerRun.flat(new double[][][] {d.base.w}));
        l.getParameters().get("bias").getArray().set(LayerRun.flat(new double[][][] {{d.base.b}}));
        l.getLoraA().getArray().set(LayerRun.flat(new double[][][] {d.a}));
        l.getLoraB().getArray().set(LayerRun.flat(new double[][][] {d.b}));
    }

    static Run run(String engine, LoraLinear l, Data d, boolean training, Long seed) {
        try (NDManager m = Engine.getEngine(engine).newBaseManager()) {
            int bs = d.base.x.length;
            int n = d.base.x[0].length;
            l.initialize(m, DataType.FLOAT32, new Shape(bs, n, CIN));
            set(l, d);
            NDArray x = m.create(LayerRun.flat(d.base.x), new Shape(bs, n, CIN));
            x.setRequiresGradient(true);
            NDArray g = m.create(LayerRun.flat(d.base.gy), new Shape(bs, n, COUT));
            if (seed != null) {
                Engine.getEngine(engine).setRandomSeed(seed.intValue());
            }
            Run out = new Run();
            try (GradientCollector gc = m.getEngine().newGradientCollector()) {
                NDArray y =
                        l.forward(new ParameterStore(m, false), new NDList(x), training)
                                .singletonOrThrow();
                out.y = LayerRun.unflat(y.toFloatArray(), bs, n, COUT);
                if (training) {
                    gc.backward(y.mul(g).sum());
                }
            }
            if (training) {
                out.gx = LayerRun.unflat(x.getGradient().toFloatArray(), bs, n, CIN);
                out.ga =
                        LayerRun.unflat(
                                l.getLoraA().getArray().getGradient().toFloatArray(), 1, R, CIN)[0];
                out.gb =
                        LayerRun.unflat(
                                l.getLoraB().getArray().getGradient().toFloatArray(), 1, COUT, R)[
                                0];
            }
            return out;
        }
    }

    static double[][] mm(double[][] p, double[][] q) {
        double[][] o = new double[p.length][q[0].length];
        for (int i = 0; i < p.length; i++) {
            for (int k = 0; k < q.length; k++) {
                for (int j = 0; j < q[0].length; j++) {
                    o[i][j] += p[i][k] * q[k][j];
                }
            }
        }
        return o;
    }

    static double[][] t(double[][] p) {
        double[][] o = new double[p[0].length][p.length];
        for (int i = 0; i < p.length; i++) {
            for (int j = 0; j < p[0].length; j++) {
                o[j][i] = p[i][j];
            }
        }
        return o;
    }

    /** W + s B A in double. */
    static double[][] effective(Data d) {
        double[][] ba = mm(d.b, d.a);
        double[][] w = new double[COUT][CIN];
        for (int o = 0; o < COUT; o++) {
            for (int c = 0; c < CIN; c++) {
                w[o][c] = d.base.w[o][c] + ALPHA / R * ba[o][c];
            }
        }
        return w;
    }

    /** y = x (W + s B A)^T + b in double. */
    static double[][][] forward(Data d) {
        double[][] w = effective(d);
        double[][][] x = d.base.x;
        double[][][] y = new double[x.length][x[0].length][COUT];
        for (int b = 0; b < x.length; b++) {
            for (int n = 0; n < x[0].length; n++) {
                for (int o = 0; o < COUT; o++) {
                    double v = d.base.b[o];
                    for (int c = 0; c < CIN; c++) {
                        v += x[b][n][c] * w[o][c];
                    }
                    y[b][n][o] = v;
                }
            }
        }
        return y;
    }

    /**
     * Expected gradients from G = gradient of the effective weight: grad_B = s G A^T, grad_A = s
     * B^T G.
     */
    static void assertGrads(Run run, Data d, ReferenceLbp.Grads ref, String what) {
        double s = ALPHA / R;
        double[][] gb = mm(ref.w, t(d.a));
        double[][] ga = mm(t(d.b), ref.w);
        for (double[] row : gb) {
            for (int i = 0; i < row.length; i++) {
                row[i] *= s;
            }
        }
        for (double[] row : ga) {
            for (int i = 0; i < row.length; i++) {
                row[i] *= s;
            }
        }
        assertClose(run.gb, gb, TOL, what + " grad_B");
        assertClose(run.ga, ga, TOL, what + " grad_A");
        assertClose(run.gx, ref.x, TOL, what + " grad_x");
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void plainLoraMatchesClosedForm(String engine) {
        Data d = new Data(11, 2, 10);
        Run run = run(engine, layer(null, 0), d, true, null);
        assertClose(run.y, forward(d), TOL, "forward");
        assertGrads(run, d, ReferenceLbp.full(d.base.x, effective(d), d.base.gy), "plain LoRA");
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void allBasesEqualPlainLora(String engine) {
        Data d = new Data(12, 2, 1 + 8 * 16);
        LbpConfig all =
                LbpConfig.builder()
                        .optSelection(BasisSelection.all())
                        .optLayout(TokenLayout.grid(1, 8, 16))
                        .build();
        Run lbp = run(engine, layer(all, 0), d, true, null);
        Run plain = run(engine, layer(null, 0), d, true, null);
        assertClose(lbp.y, plain.y, TOL, "forward");
        assertClose(lbp.ga, plain.ga, TOL, "grad_A equals plain LoRA's");
        assertClose(lbp.gb, plain.gb, TOL, "grad_B equals plain LoRA's");
        assertClose(lbp.gx, plain.gx, TOL, "grad_x equals plain LoRA's");
        assertGrads(lbp, d, ReferenceLbp.full(d.base.x, effective(d), d.base.gy), "all bases");
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void kBasesMatchProjectedClosedForm(String engine) {
        int[][] grids = {{1, 14, 14}, {1, 7, 10}, {0, 16, 8}};
        for (int[] g : grids) {
            for (BasisSelection sel :
                    new BasisSelection[] {
                        BasisSelection.lowPassL1(2), BasisSelection.lowPassL1(4)
                    }) {
                int n = g[0] + g[1] * g[2];
                Data d = new Data(13L * n + sel.hashCode(), 2, n);
                LbpConfig c =
                        LbpConfig.builder()
                                .optSelection(sel)
                                .optLayout(TokenLayout.grid(g[0], g[1], g[2]))
                                .build();
                Run lbp = run(engine, layer(c, 0), d, true, null);
                String what = sel + " " + g[0] + "+" + g[1] + "x" + g[2];
                assertClose(lbp.y, forward(d), TOL, what + " forward exact");
                ReferenceLbp.Grads ref =
                        ReferenceLbp.lbp(
                                d.base.x,
                                effective(d),
                                d.base.gy,
                                g[0],
                                g[1],
                                g[2],
                                8,
                                sel.bases(8),
                                Padding.ZERO);
                assertGrads(lbp, d, ref, what);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void inferenceAndMergeEqualClosedForm(String engine) {
        Data d = new Data(14, 2, 17);
        LbpConfig c = LbpConfig.builder().optSelection(BasisSelection.lowPassL1(2)).build();
        Run inf = run(engine, layer(c, 0.3f), d, false, null);
        assertClose(inf.y, forward(d), TOL, "inference: base + s B A x, no dropout");
        LoraLinear l = layer(c, 0.3f);
        try (NDManager m = Engine.getEngine(engine).newBaseManager()) {
            l.initialize(m, DataType.FLOAT32, new Shape(2, 17, CIN));
            set(l, d);
            NDArray x = m.create(LayerRun.flat(d.base.x), new Shape(2, 17, CIN));
            float[] unmerged =
                    l.forward(new ParameterStore(m, false), new NDList(x), false)
                            .singletonOrThrow()
                            .toFloatArray();
            l.merge();
            assertTrue(l.isMerged());
            float[] merged =
                    l.forward(new ParameterStore(m, false), new NDList(x), false)
                            .singletonOrThrow()
                            .toFloatArray();
            assertClose(
                    LayerRun.unflat(merged, 2, 17, COUT),
                    LayerRun.unflat(unmerged, 2, 17, COUT),
                    TOL,
                    "merged");
            assertThrows(
                    IllegalStateException.class,
                    () -> l.forward(new ParameterStore(m, false), new NDList(x), true));
            l.unmerge();
            float[] w = l.getParameters().get("weight").getArray().toFloatArray();
            assertClose(
                    new double[][][] {toDouble(w)},
                    new double[][][] {toDouble(LayerRun.flat(new double[][][] {d.base.w}))},
                    1e-6,
                    "unmerge restores W");
        }
    }

    static double[][] toDouble(float[] f) {
        double[][] o = new double[1][f.length];
        for (int i = 0; i < f.length; i++) {
            o[0][i] = f[i];
        }
        return o;
    }

    /** Dropout: with the same seed, LBP with all bases gives plain LoRA's value and gradients. */
    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void dropoutMaskIsSharedByValueAndGradient(String engine) {
        Data d = new Data(15, 2, 1 + 8 * 16);
        LbpConfig all =
                LbpConfig.builder()
                        .optSelection(BasisSelection.all())
                        .optLayout(TokenLayout.grid(1, 8, 16))
                        .build();
        Run lbp = run(engine, layer(all, 0.5f), d, true, 7L);
        Run plain = run(engine, layer(null, 0.5f), d, true, 7L);
        Run none = run(engine, layer(null, 0), d, true, null);
        assertClose(lbp.y, plain.y, TOL, "forward with dropout");
        assertClose(lbp.ga, plain.ga, TOL, "grad_A with dropout");
        assertClose(lbp.gb, plain.gb, TOL, "grad_B with dropout");
        assertClose(lbp.gx, plain.gx, TOL, "grad_x with dropout");
        double diff = 0;
        for (int i = 0; i < R; i++) {
            for (int j = 0; j < CIN; j++) {
                diff += Math.abs(plain.ga[i][j] - none.ga[i][j]);
            }
        }
        assertTrue(diff > 1e-3, "dropout changes grad_A");
    }

    @Test
    void badInputIsNamed() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> LoraLinear.builder().setUnits(4).optRank(0).optName("fc1").build());
        assertTrue(
                e.getMessage().contains("'fc1'") && e.getMessage().contains("rank"),
                e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> LoraLinear.builder().setUnits(4).optAlpha(0).build());
        assertTrue(e.getMessage().contains("alpha"), e.getMessage());
        e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> LoraLinear.builder().setUnits(4).optDropout(1).build());
        assertTrue(e.getMessage().contains("dropout"), e.getMessage());
        LoraLinear l = layer(LbpConfig.builder().build(), 0);
        try (NDManager m = Engine.getEngine("PyTorch").newBaseManager()) {
            l.initialize(m, DataType.FLOAT32, new Shape(1, 17, CIN));
            NDArray wrong = m.ones(new Shape(1, 17, CIN + 1));
            e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> l.forward(new ParameterStore(m, false), new NDList(wrong), true));
            assertTrue(
                    e.getMessage().contains("blocks.0.attn.qkv")
                            && e.getMessage().contains("(1, 17, 7)"),
                    e.getMessage());
            NDArray odd = m.ones(new Shape(1, 20, CIN));
            e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> l.forward(new ParameterStore(m, false), new NDList(odd), true));
            assertTrue(e.getMessage().contains("20 tokens"), e.getMessage());
        }
    }
}
