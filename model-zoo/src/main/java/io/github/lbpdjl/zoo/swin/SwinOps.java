package io.github.lbpdjl.zoo.swin;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.initializer.ConstantInitializer;

/** Array operations of SwinV2 on NHWC maps: rolls, windows, masks, relative positions. */
final class SwinOps {

    private SwinOps() {}

    /** LayerNorm over the last axis of an input of the given rank (DJL takes no negative axis). */
    static LayerNorm layerNorm(int rank, float eps) {
        return LayerNorm.builder().axis(rank - 1).optEpsilon(eps).build();
    }

    /** A LayerNorm whose weight starts at zero (timm's post-norms, {@code _init_respostnorm}). */
    static LayerNorm zeroLayerNorm(int rank, float eps) {
        LayerNorm n = layerNorm(rank, eps);
        n.setInitializer(new ConstantInitializer(0), Parameter.Type.GAMMA);
        return n;
    }

    /**
     * torch.roll along one axis: {@code y[i] = x[(i - shift) mod n]}.
     *
     * @param consumed collects the intermediates made here
     * @return x itself when the shift is a multiple of the axis length
     */
    static NDArray roll(NDArray x, int shift, int axis, NDList consumed) {
        long n = x.getShape().get(axis);
        long k = Math.floorMod(-(long) shift, n);
        if (k == 0) {
            return x;
        }
        NDList parts = x.split(new long[] {k}, axis);
        consumed.addAll(parts);
        return parts.get(1).concat(parts.get(0), axis);
    }

    /** (B, H, W, C) -> (B * H/wh * W/ww, wh ww, C), windows row-major as timm's. */
    static NDArray partition(NDArray x, int wh, int ww, NDList consumed) {
        Shape s = x.getShape();
        long b = s.get(0);
        long h = s.get(1);
        long w = s.get(2);
        long c = s.get(3);
        NDArray a = x.reshape(b, h / wh, wh, w / ww, ww, c);
        NDArray t = a.transpose(0, 1, 3, 2, 4, 5);
        consumed.add(a);
        consumed.add(t);
        return t.reshape(-1, (long) wh * ww, c);
    }

    /** (B * windows, wh ww, C) -> (B, H, W, C), the inverse of {@link #partition}. */
    static NDArray reverse(NDArray windows, int wh, int ww, long h, long w, NDList consumed) {
        long c = windows.getShape().get(2);
        NDArray a = windows.reshape(-1, h / wh, w / ww, wh, ww, c);
        NDArray t = a.transpose(0, 1, 3, 2, 4, 5);
        consumed.add(a);
        consumed.add(t);
        return t.reshape(-1, h, w, c);
    }

    /** A scalar in engine memory (not a Java buffer: safe to keep for backward on PyTorch). */
    static NDArray scalar(NDManager manager, float value, NDArray like) {
        return manager.full(new Shape(), value, like.getDataType(), like.getDevice());
    }

    /**
     * timm's {@code relative_coords_table} of a window: (2wh-1) x (2ww-1) x 2, the relative row and
     * column offsets scaled to +-8 and mapped by {@code sign(v) log2(|v| + 1) / 3}, in float
     * arithmetic as timm's.
     */
    static float[] relativeCoordsTable(int wh, int ww) {
        int rows = 2 * wh - 1;
        int cols = 2 * ww - 1;
        float[] t = new float[rows * cols * 2];
        float log8 = (float) (Math.log(8) / Math.log(2));
        for (int a = 0; a < rows; a++) {
            for (int b = 0; b < cols; b++) {
                t[(a * cols + b) * 2] = logSpaced((float) (a - (wh - 1)) / (wh - 1), log8);
                t[(a * cols + b) * 2 + 1] = logSpaced((float) (b - (ww - 1)) / (ww - 1), log8);
            }
        }
        return t;
    }

    private static float logSpaced(float v, float log8) {
        float s = v * 8f;
        float mag = (float) (Math.log(Math.abs(s) + 1f) / Math.log(2));
        return Math.signum(s) * mag / log8;
    }

    /**
     * timm's {@code relative_position_index}: for window tokens i and j (row-major), the row of the
     * coordinates table of their offset, {@code (r_i - r_j + wh - 1)(2ww - 1) + c_i - c_j + ww -
     * 1}.
     */
    static long[] relativePositionIndex(int wh, int ww) {
        int n = wh * ww;
        long[] idx = new long[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                int dr = i / ww - j / ww + wh - 1;
                int dc = i % ww - j % ww + ww - 1;
                idx[i * n + j] = (long) dr * (2 * ww - 1) + dc;
            }
        }
        return idx;
    }

    /**
     * timm's {@code attn_mask} of a shifted block: (windows, wh ww, wh ww), 0 between tokens of the
     * same region of the shifted map and -100 between tokens of different regions. The regions are
     * as timm's slices {@code (0, -w), (-w, -s), (-s, None)} per axis, with Python's slice rules (a
     * zero shift makes the middle slice empty and the last one the whole axis).
     */
    static float[] attentionMask(int h, int w, int wh, int ww, int sh, int sw) {
        int[] rowRegion = regions(h, wh, sh);
        int[] colRegion = regions(w, ww, sw);
        int nw = (h / wh) * (w / ww);
        int n = wh * ww;
        float[] mask = new float[nw * n * n];
        int[] label = new int[n];
        for (int win = 0; win < nw; win++) {
            int r0 = (win / (w / ww)) * wh;
            int c0 = (win % (w / ww)) * ww;
            for (int i = 0; i < n; i++) {
                label[i] = rowRegion[r0 + i / ww] * 3 + colRegion[c0 + i % ww];
            }
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    mask[(win * n + i) * n + j] = label[i] == label[j] ? 0f : -100f;
                }
            }
        }
        return mask;
    }

    /** The region index of each position along an axis, assigned in timm's slice order. */
    private static int[] regions(int len, int window, int shift) {
        int[] region = new int[len];
        int[][] slices = {{0, -window}, {-window, -shift}, {-shift, Integer.MAX_VALUE}};
        for (int r = 0; r < 3; r++) {
            int from = pyIndex(slices[r][0], len);
            int to = slices[r][1] == Integer.MAX_VALUE ? len : pyIndex(slices[r][1], len);
            for (int i = from; i < to; i++) {
                region[i] = r;
            }
        }
        return region;
    }

    /** A Python slice bound: negative counts from the end (-0 is 0), clamped to the axis. */
    private static int pyIndex(int i, int len) {
        int j = i < 0 ? i + len : i;
        return Math.max(0, Math.min(len, j));
    }
}
