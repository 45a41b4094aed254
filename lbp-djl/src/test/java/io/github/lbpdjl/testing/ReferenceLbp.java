package io.github.lbpdjl.testing;

import io.github.lbpdjl.wht.Padding;

/**
 * An independent LBP-WHT reference in double precision, written literally from docs/METHOD.md: pad
 * the grid, cut it into patches, take basis coefficients per patch, form the gradients, crop. It
 * shares no code with the production path (its Walsh functions come from the Gray-code formula).
 */
public final class ReferenceLbp {

    private ReferenceLbp() {}

    /** Gradients of one layer. */
    public static final class Grads {
        public double[][][] x; // (B, N, Cin)
        public double[][] w; // (Cout, Cin)
        public double[] b; // (Cout)
    }

    /**
     * Walsh function k of length p in sequency order: natural index = bitreverse(gray(k)).
     *
     * @param p length, power of two
     * @return matrix w[k][i]
     */
    public static int[][] walsh(int p) {
        int bits = Integer.numberOfTrailingZeros(p);
        int[][] w = new int[p][p];
        for (int k = 0; k < p; k++) {
            int gray = k ^ (k >> 1);
            int nat = bits == 0 ? 0 : Integer.reverse(gray) >>> (32 - bits);
            for (int i = 0; i < p; i++) {
                w[k][i] = (Integer.bitCount(nat & i) & 1) == 0 ? 1 : -1;
            }
        }
        return w;
    }

    /** Full backprop of y = x W^T + b with upstream gradient gy. */
    public static Grads full(double[][][] x, double[][] w, double[][][] gy) {
        int bs = x.length;
        int n = x[0].length;
        int cin = w[0].length;
        int cout = w.length;
        Grads g = new Grads();
        g.x = new double[bs][n][cin];
        g.w = new double[cout][cin];
        g.b = new double[cout];
        for (int b = 0; b < bs; b++) {
            for (int t = 0; t < n; t++) {
                for (int o = 0; o < cout; o++) {
                    g.b[o] += gy[b][t][o];
                    for (int c = 0; c < cin; c++) {
                        g.x[b][t][c] += gy[b][t][o] * w[o][c];
                        g.w[o][c] += gy[b][t][o] * x[b][t][c];
                    }
                }
            }
        }
        return g;
    }

    /**
     * LBP-WHT gradients.
     *
     * @param x input (B, N, Cin), N = extra + h * w
     * @param weight (Cout, Cin)
     * @param gy upstream gradient (B, N, Cout)
     * @param extra extra tokens
     * @param h grid rows
     * @param wd grid columns
     * @param p patch size
     * @param bases selected (r, c)
     * @param padding padding
     * @return gradients
     */
    public static Grads lbp(
            double[][][] x,
            double[][] weight,
            double[][][] gy,
            int extra,
            int h,
            int wd,
            int p,
            int[][] bases,
            Padding padding) {
        int bs = x.length;
        int n = x[0].length;
        int cin = weight[0].length;
        int cout = weight.length;
        int hp = (h + p - 1) / p * p;
        int wp = (wd + p - 1) / p * p;
        int top = (int) Math.ceil((hp - h) / 2.0);
        int left = (int) Math.ceil((wp - wd) / 2.0);
        int[][] walsh = walsh(p);
        Grads g = new Grads();
        g.x = new double[bs][n][cin];
        g.w = new double[cout][cin];
        g.b = new double[cout];
        for (int b = 0; b < bs; b++) {
            for (int t = 0; t < n; t++) {
                for (int o = 0; o < cout; o++) {
                    g.b[o] += gy[b][t][o];
                }
            }
            for (int e = 0; e < extra; e++) {
                for (int o = 0; o < cout; o++) {
                    for (int c = 0; c < cin; c++) {
                        g.x[b][e][c] += gy[b][e][o] * weight[o][c];
                        g.w[o][c] += gy[b][e][o] * x[b][e][c];
                    }
                }
            }
            double[][][] xpad = pad(x[b], extra, h, wd, hp, wp, top, left, padding);
            double[][][] gpad = pad(gy[b], extra, h, wd, hp, wp, top, left, padding);
            for (int pr = 0; pr < hp / p; pr++) {
                for (int pc = 0; pc < wp / p; pc++) {
                    for (int[] rc : bases) {
                        double[] xk = new double[cin];
                        double[] gk = new double[cout];
                        for (int i = 0; i < p; i++) {
                            for (int j = 0; j < p; j++) {
                                int s = walsh[rc[0]][i] * walsh[rc[1]][j];
                                for (int c = 0; c < cin; c++) {
                                    xk[c] += s * xpad[pr * p + i][pc * p + j][c];
                                }
                                for (int o = 0; o < cout; o++) {
                                    gk[o] += s * gpad[pr * p + i][pc * p + j][o] / (p * p);
                                }
                            }
                        }
                        double[] gkw = new double[cin];
                        for (int o = 0; o < cout; o++) {
                            for (int c = 0; c < cin; c++) {
                                g.w[o][c] += gk[o] * xk[c];
                                gkw[c] += gk[o] * weight[o][c];
                            }
                        }
                        for (int i = 0; i < p; i++) {
                            for (int j = 0; j < p; j++) {
                                int gi = pr * p + i - top;
                                int gj = pc * p + j - left;
                                if (gi < 0 || gi >= h || gj < 0 || gj >= wd) {
                                    continue; // crop
                                }
                                int s = walsh[rc[0]][i] * walsh[rc[1]][j];
                                for (int c = 0; c < cin; c++) {
                                    g.x[b][extra + gi * wd + gj][c] += s * gkw[c];
                                }
                            }
                        }
                    }
                }
            }
        }
        return g;
    }

    private static double[][][] pad(
            double[][] tokens,
            int extra,
            int h,
            int w,
            int hp,
            int wp,
            int top,
            int left,
            Padding padding) {
        int ch = tokens[0].length;
        double[][][] out = new double[hp][wp][ch];
        for (int i = 0; i < hp; i++) {
            for (int j = 0; j < wp; j++) {
                int si = i - top;
                int sj = j - left;
                if (padding == Padding.REFLECT) {
                    si = si < 0 ? -si : (si >= h ? 2 * (h - 1) - si : si);
                    sj = sj < 0 ? -sj : (sj >= w ? 2 * (w - 1) - sj : sj);
                }
                if (si >= 0 && si < h && sj >= 0 && sj < w) {
                    out[i][j] = tokens[extra + si * w + sj].clone();
                }
            }
        }
        return out;
    }
}
