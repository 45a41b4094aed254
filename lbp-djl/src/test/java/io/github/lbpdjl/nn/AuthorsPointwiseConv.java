package io.github.lbpdjl.nn;

import io.github.lbpdjl.testing.ReferenceLbp;

/**
 * The backward of the authors' LBP-WHT 1x1 convolution (SLDGroup/LBP-WHT,
 * custom_op/pointwise_conv_wht.py, PointwiseConvWHTOp), restated from reading it, in double
 * precision and on (B, C, H, W) maps as that code works, so that the reflect rule of {@link
 * ReferenceLbp} can be checked against it on a conv input. What that code does, and this class does
 * with its own loops:
 *
 * <ul>
 *   <li>patches: {@code p_h = ceil(H / p)}, {@code p_w = ceil(W / p)}; the padding is centred, top
 *       {@code ceil((p_h p - H) / 2)}, the rest at the bottom, left likewise (so the top or left
 *       side gets the larger half);
 *   <li>x and gy are both padded with torch's {@code pad(mode="reflect")}: index -i maps to i and H
 *       - 1 + i to H - 1 - i (a mirror that does not repeat the edge), each axis on its own;
 *   <li>the bases are the rows of their {@code hadamard_func(p)}: the Sylvester matrix (built
 *       recursively) with its columns permuted by the bit-reversed Gray code; basis (r, c) is the
 *       outer product of rows r and c, r along the patch's rows; their {@code lp_tri_order = o}
 *       keeps r + c &lt; o (LP_L1-o);
 *   <li>{@code x_sum = sum(x_patch * mask)} and {@code grad_y_avg = mean(gy_patch * mask)} (the sum
 *       over the p^2 positions divided by p^2), both on the reflect-padded maps;
 *   <li>grad_W = sum over the bases, samples and patches of {@code grad_y_avg^T x_sum};
 *   <li>grad_x: {@code grad_y_avg W} spread back over each patch with the bases and summed, then
 *       cropped to the H x W window (what lands on padded positions is dropped, not folded back);
 *   <li>grad_b = the sum of gy over the batch and the map, exact.
 * </ul>
 *
 * Results are returned on tokens (t = i * W + j) to compare with {@link ReferenceLbp}.
 */
final class AuthorsPointwiseConv {

    private AuthorsPointwiseConv() {}

    /** Their basis matrix: Sylvester's H_p with columns in bit-reversed Gray-code order. */
    static int[][] hadamardFunc(int p) {
        int[][] sylvester = {{1}};
        for (int n = 1; n < p; n *= 2) {
            int[][] next = new int[2 * n][2 * n];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    next[i][j] = sylvester[i][j];
                    next[i][j + n] = sylvester[i][j];
                    next[i + n][j] = sylvester[i][j];
                    next[i + n][j + n] = -sylvester[i][j];
                }
            }
            sylvester = next;
        }
        int bits = Integer.numberOfTrailingZeros(p);
        int[][] out = new int[p][p];
        for (int j = 0; j < p; j++) {
            int gray = j ^ (j >> 1);
            int col = Integer.reverse(gray) >>> (32 - bits);
            for (int i = 0; i < p; i++) {
                out[i][j] = sylvester[i][col];
            }
        }
        return out;
    }

    /** torch.nn.functional.pad(mode="reflect") along one axis of length n. */
    static int reflect(int i, int n) {
        return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i);
    }

    /**
     * The gradients of their backward.
     *
     * @param tokens x as tokens (B, H*W, C_in)
     * @param weight (C_out, C_in)
     * @param gyTokens gy as tokens (B, H*W, C_out)
     * @param h map rows
     * @param w map columns
     * @param p patch size (their "order", 8 in every configuration)
     * @param bases the selected (r, c)
     * @return the gradients, on tokens
     */
    static ReferenceLbp.Grads backward(
            double[][][] tokens,
            double[][] weight,
            double[][][] gyTokens,
            int h,
            int w,
            int p,
            int[][] bases) {
        int bs = tokens.length;
        int cin = weight[0].length;
        int cout = weight.length;
        double[][][][] x = toMap(tokens, h, w);
        double[][][][] gy = toMap(gyTokens, h, w);
        int ph = (h + p - 1) / p;
        int pw = (w + p - 1) / p;
        int top = (ph * p - h + 1) / 2;
        int left = (pw * p - w + 1) / 2;
        int[][] base = hadamardFunc(p);
        double[][][][] gx = new double[bs][cin][h][w];
        ReferenceLbp.Grads g = new ReferenceLbp.Grads();
        g.w = new double[cout][cin];
        g.b = new double[cout];
        for (int b = 0; b < bs; b++) {
            for (int pr = 0; pr < ph; pr++) {
                for (int pc = 0; pc < pw; pc++) {
                    for (int[] rc : bases) {
                        double[] xSum = new double[cin];
                        double[] gAvg = new double[cout];
                        for (int u = 0; u < p; u++) {
                            for (int v = 0; v < p; v++) {
                                int mask = base[rc[0]][u] * base[rc[1]][v];
                                int i = reflect(pr * p + u - top, h);
                                int j = reflect(pc * p + v - left, w);
                                for (int c = 0; c < cin; c++) {
                                    xSum[c] += mask * x[b][c][i][j];
                                }
                                for (int o = 0; o < cout; o++) {
                                    gAvg[o] += mask * gy[b][o][i][j] / (p * p);
                                }
                            }
                        }
                        double[] gxAvg = new double[cin];
                        for (int o = 0; o < cout; o++) {
                            for (int c = 0; c < cin; c++) {
                                g.w[o][c] += gAvg[o] * xSum[c];
                                gxAvg[c] += gAvg[o] * weight[o][c];
                            }
                        }
                        for (int u = 0; u < p; u++) {
                            for (int v = 0; v < p; v++) {
                                int i = pr * p + u - top;
                                int j = pc * p + v - left;
                                if (i < 0 || i >= h || j < 0 || j >= w) {
                                    continue;
                                }
                                int mask = base[rc[0]][u] * base[rc[1]][v];
                                for (int c = 0; c < cin; c++) {
                                    gx[b][c][i][j] += mask * gxAvg[c];
                                }
                            }
                        }
                    }
                }
            }
            for (int o = 0; o < cout; o++) {
                for (int i = 0; i < h; i++) {
                    for (int j = 0; j < w; j++) {
                        g.b[o] += gy[b][o][i][j];
                    }
                }
            }
        }
        g.x = new double[bs][h * w][cin];
        for (int b = 0; b < bs; b++) {
            for (int c = 0; c < cin; c++) {
                for (int t = 0; t < h * w; t++) {
                    g.x[b][t][c] = gx[b][c][t / w][t % w];
                }
            }
        }
        return g;
    }

    private static double[][][][] toMap(double[][][] tokens, int h, int w) {
        int c = tokens[0][0].length;
        double[][][][] m = new double[tokens.length][c][h][w];
        for (int b = 0; b < tokens.length; b++) {
            for (int t = 0; t < h * w; t++) {
                for (int k = 0; k < c; k++) {
                    m[b][k][t / w][t % w] = tokens[b][t][k];
                }
            }
        }
        return m;
    }
}
