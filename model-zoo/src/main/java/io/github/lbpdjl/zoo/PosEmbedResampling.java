package io.github.lbpdjl.zoo;

import java.util.Arrays;

/**
 * Resamples a ViT's absolute position embeddings to another patch grid as timm does when it loads a
 * checkpoint for another image size ({@code resample_abs_pos_embed}: the prefix tokens' rows kept,
 * the grid's rows resized with PyTorch's antialiased bicubic interpolation, {@code
 * F.interpolate(mode='bicubic', antialias=True)}).
 *
 * <p>That interpolation is separable: each output position {@code i} takes the input positions
 * within {@code 2 * max(1, in / out)} of its centre {@code (i + 0.5) * in / out}, weighted by Keys'
 * cubic with {@code a = -0.5} at the distance divided by {@code max(1, in / out)}, the weights
 * normalised to sum to one; so it also smooths when it reduces.
 */
final class PosEmbedResampling {

    private PosEmbedResampling() {}

    /**
     * Resamples the rows of a (1, prefix + oldH * oldW, C) embedding to (1, prefix + newH * newW,
     * C), row-major.
     *
     * @param values the embedding's values
     * @param prefix rows kept as they are (class, distillation, register tokens)
     * @param oldH the checkpoint's grid height
     * @param oldW the checkpoint's grid width
     * @param newH the model's grid height
     * @param newW the model's grid width
     * @param channels C
     * @return the resampled values
     */
    static float[] resample(
            float[] values, int prefix, int oldH, int oldW, int newH, int newW, int channels) {
        if (values.length != (long) (prefix + oldH * oldW) * channels) {
            throw new IllegalArgumentException(
                    "position embedding of "
                            + values.length
                            + " values is not ("
                            + prefix
                            + " + "
                            + oldH
                            + " x "
                            + oldW
                            + ") x "
                            + channels);
        }
        float[] out = new float[(prefix + newH * newW) * channels];
        System.arraycopy(values, 0, out, 0, prefix * channels);
        double[][] wx = weights(oldW, newW);
        int[] fx = first(oldW, newW);
        double[][] wy = weights(oldH, newH);
        int[] fy = first(oldH, newH);
        // along the width first, then along the height, in double precision
        double[] rows = new double[oldH * newW * channels];
        for (int y = 0; y < oldH; y++) {
            for (int x = 0; x < newW; x++) {
                for (int k = 0; k < wx[x].length; k++) {
                    int src = (prefix + y * oldW + fx[x] + k) * channels;
                    int dst = (y * newW + x) * channels;
                    for (int c = 0; c < channels; c++) {
                        rows[dst + c] += wx[x][k] * values[src + c];
                    }
                }
            }
        }
        double[] acc = new double[channels];
        for (int y = 0; y < newH; y++) {
            for (int x = 0; x < newW; x++) {
                Arrays.fill(acc, 0);
                for (int k = 0; k < wy[y].length; k++) {
                    int src = ((fy[y] + k) * newW + x) * channels;
                    for (int c = 0; c < channels; c++) {
                        acc[c] += wy[y][k] * rows[src + c];
                    }
                }
                int dst = (prefix + y * newW + x) * channels;
                for (int c = 0; c < channels; c++) {
                    out[dst + c] = (float) acc[c];
                }
            }
        }
        return out;
    }

    private static int[] first(int in, int out) {
        double scale = (double) in / out;
        double support = 2.0 * Math.max(1.0, scale);
        int[] first = new int[out];
        for (int i = 0; i < out; i++) {
            first[i] = Math.max(0, (int) ((i + 0.5) * scale - support + 0.5));
        }
        return first;
    }

    /** The normalised taps of each output position, from {@link #first}'s position on. */
    private static double[][] weights(int in, int out) {
        double scale = (double) in / out;
        double stretch = Math.max(1.0, scale);
        double support = 2.0 * stretch;
        int[] first = first(in, out);
        double[][] w = new double[out][];
        for (int i = 0; i < out; i++) {
            double center = (i + 0.5) * scale;
            int n = Math.min(in, (int) (center + support + 0.5)) - first[i];
            w[i] = new double[n];
            double total = 0;
            for (int j = 0; j < n; j++) {
                w[i][j] = cubic((j + first[i] - center + 0.5) / stretch);
                total += w[i][j];
            }
            for (int j = 0; j < n; j++) {
                w[i][j] = total == 0 ? w[i][j] : w[i][j] / total;
            }
        }
        return w;
    }

    /** Keys' cubic convolution kernel with a = -0.5. */
    private static double cubic(double x) {
        double t = Math.abs(x);
        double a = -0.5;
        if (t < 1.0) {
            return ((a + 2.0) * t - (a + 3.0)) * t * t + 1;
        }
        if (t < 2.0) {
            return (((t - 5) * t + 8) * t - 4) * a;
        }
        return 0.0;
    }
}
