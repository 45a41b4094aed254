package io.github.lbpdjl.zoo;

import ai.djl.modality.cv.Image;

/**
 * Resizes 8-bit images as Pillow's {@code Image.resize} does, byte for byte (checked against Pillow
 * 9.4 by {@code ResamplingTest}): timm's evaluation transform resizes PIL images, and DJL's own
 * resize differs between engines (PyTorch: antialiased, MXNet: OpenCV's cubic without).
 *
 * <p>Bilinear and bicubic are Pillow's convolution resampling: the filter (triangle, or Keys' cubic
 * with a = -0.5) widened by the reduction factor when reducing, so that every source pixel counts;
 * weights normalised per output pixel and rounded to 22-bit fixed point; the horizontal pass first,
 * rounded to bytes, then the vertical one; an axis whose size does not change is not resampled.
 * Nearest takes source pixel {@code floor((i + 0.5) * in / out)}, the position summed as Pillow
 * sums it.
 *
 * <p>Images are row-major with interleaved channels ({@code (H, W, C)}).
 */
final class Resampling {

    private static final int PRECISION_BITS = 32 - 8 - 2;

    private Resampling() {}

    /**
     * Resizes an image.
     *
     * @param src the pixels, {@code height * width * channels} bytes
     * @param width the source width
     * @param height the source height
     * @param channels the channels
     * @param outWidth the new width
     * @param outHeight the new height
     * @param interpolation {@code NEAREST}, {@code BILINEAR} or {@code BICUBIC}
     * @return the new pixels, {@code outHeight * outWidth * channels} bytes
     */
    static byte[] resize(
            byte[] src,
            int width,
            int height,
            int channels,
            int outWidth,
            int outHeight,
            Image.Interpolation interpolation) {
        if (outWidth < 1 || outHeight < 1) {
            throw new IllegalArgumentException(
                    "cannot resize to " + outWidth + "x" + outHeight + " pixels");
        }
        if (outWidth == width && outHeight == height) {
            return src.clone();
        }
        switch (interpolation) {
            case NEAREST:
                return nearest(src, width, height, channels, outWidth, outHeight);
            case BILINEAR:
            case BICUBIC:
                byte[] out = src;
                int w = width;
                if (outWidth != width) {
                    Taps taps = new Taps(width, outWidth, interpolation);
                    out = horizontal(out, height, width, channels, taps);
                    w = outWidth;
                }
                if (outHeight != height) {
                    Taps taps = new Taps(height, outHeight, interpolation);
                    out = vertical(out, w, channels, taps);
                }
                return out;
            default:
                throw new IllegalArgumentException(
                        "interpolation "
                                + interpolation
                                + " is not supported; NEAREST, BILINEAR and BICUBIC are");
        }
    }

    private static byte[] horizontal(byte[] src, int height, int width, int channels, Taps taps) {
        int outWidth = taps.first.length;
        byte[] out = new byte[height * outWidth * channels];
        for (int y = 0; y < height; y++) {
            int row = y * width;
            for (int x = 0; x < outWidth; x++) {
                int first = taps.first[x];
                int count = taps.count[x];
                int k = x * taps.size;
                for (int c = 0; c < channels; c++) {
                    int sum = 1 << (PRECISION_BITS - 1);
                    for (int i = 0; i < count; i++) {
                        sum += (src[(row + first + i) * channels + c] & 0xff) * taps.weights[k + i];
                    }
                    out[((y * outWidth) + x) * channels + c] = clip(sum);
                }
            }
        }
        return out;
    }

    private static byte[] vertical(byte[] src, int width, int channels, Taps taps) {
        int outHeight = taps.first.length;
        int stride = width * channels;
        byte[] out = new byte[outHeight * stride];
        for (int y = 0; y < outHeight; y++) {
            int first = taps.first[y];
            int count = taps.count[y];
            int k = y * taps.size;
            for (int j = 0; j < stride; j++) {
                int sum = 1 << (PRECISION_BITS - 1);
                for (int i = 0; i < count; i++) {
                    sum += (src[(first + i) * stride + j] & 0xff) * taps.weights[k + i];
                }
                out[y * stride + j] = clip(sum);
            }
        }
        return out;
    }

    private static byte clip(int sum) {
        if (sum >= (1 << PRECISION_BITS << 8)) {
            return (byte) 255;
        }
        if (sum <= 0) {
            return 0;
        }
        return (byte) (sum >> PRECISION_BITS);
    }

    private static byte[] nearest(
            byte[] src, int width, int height, int channels, int outWidth, int outHeight) {
        int[] xs = nearestIndices(width, outWidth);
        int[] ys = nearestIndices(height, outHeight);
        byte[] out = new byte[outHeight * outWidth * channels];
        for (int y = 0; y < outHeight; y++) {
            for (int x = 0; x < outWidth; x++) {
                System.arraycopy(
                        src,
                        (ys[y] * width + xs[x]) * channels,
                        out,
                        (y * outWidth + x) * channels,
                        channels);
            }
        }
        return out;
    }

    private static int[] nearestIndices(int in, int out) {
        double step = (double) in / out;
        double position = step * 0.5;
        int[] indices = new int[out];
        for (int i = 0; i < out; i++) {
            indices[i] = Math.min(in - 1, (int) position);
            position += step;
        }
        return indices;
    }

    /** The source pixels and fixed-point weights of each output pixel along one axis. */
    private static final class Taps {
        final int size;
        final int[] first;
        final int[] count;
        final int[] weights;

        Taps(int in, int out, Image.Interpolation interpolation) {
            double support = interpolation == Image.Interpolation.BICUBIC ? 2.0 : 1.0;
            double scale = (double) in / out;
            double filterScale = Math.max(1.0, scale);
            support *= filterScale;
            size = (int) Math.ceil(support) * 2 + 1;
            first = new int[out];
            count = new int[out];
            weights = new int[out * size];
            double inverse = 1.0 / filterScale;
            double[] w = new double[size];
            for (int i = 0; i < out; i++) {
                double center = (i + 0.5) * scale;
                int min = Math.max(0, (int) (center - support + 0.5));
                int n = Math.min(in, (int) (center + support + 0.5)) - min;
                double total = 0;
                for (int j = 0; j < n; j++) {
                    w[j] = filter(interpolation, (j + min - center + 0.5) * inverse);
                    total += w[j];
                }
                for (int j = 0; j < n; j++) {
                    double v = total == 0.0 ? w[j] : w[j] / total;
                    weights[i * size + j] =
                            (int)
                                    (v < 0
                                            ? -0.5 + v * (1 << PRECISION_BITS)
                                            : 0.5 + v * (1 << PRECISION_BITS));
                }
                first[i] = min;
                count[i] = n;
            }
        }

        private static double filter(Image.Interpolation interpolation, double x) {
            double t = Math.abs(x);
            if (interpolation == Image.Interpolation.BILINEAR) {
                return t < 1.0 ? 1.0 - t : 0.0;
            }
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
}
