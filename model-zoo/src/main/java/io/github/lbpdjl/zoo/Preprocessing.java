package io.github.lbpdjl.zoo;

import ai.djl.modality.cv.Image;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * How a model wants its images, as timm's {@code pretrained_cfg} states it: the input size {@code
 * (channels, size, size)}, the interpolation, {@code crop_pct}, mean and std. timm's evaluation
 * transform, which the zoo's {@code Image -> Classifications} path follows: resize the shorter side
 * to {@link #getResizeSize()} = {@code floor(size / crop_pct)}, centre-crop to {@code size x size}
 * (padding with black where the image is smaller: {@code crop_pct > 1} pads), scale to [0, 1],
 * subtract the mean and divide by the std, per channel.
 *
 * <p>Immutable; a variant gives its own ({@link VitVariant#getPreprocessing()}, {@link
 * EfficientFormerVariant#getPreprocessing()}), Criteria arguments override parts of it ({@link
 * TimmModelLoader}).
 */
public final class Preprocessing {

    private static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
    private static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};

    private final int imageSize;
    private final Image.Interpolation interpolation;
    private final double cropPct;
    private final float[] mean;
    private final float[] std;

    private Preprocessing(Builder b) {
        imageSize = b.imageSize;
        interpolation = b.interpolation;
        cropPct = b.cropPct;
        mean = b.mean.clone();
        std = b.std.clone();
    }

    /**
     * A builder; the defaults are timm's: bicubic, {@code crop_pct} 0.875, ImageNet mean (0.485,
     * 0.456, 0.406) and std (0.229, 0.224, 0.225).
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * @return the number of channels (as many as mean values)
     */
    public int getChannels() {
        return mean.length;
    }

    /**
     * @return the side of the square the model takes
     */
    public int getImageSize() {
        return imageSize;
    }

    /**
     * @return how the image is resized: {@code NEAREST}, {@code BILINEAR} or {@code BICUBIC}, as
     *     Pillow resizes
     */
    public Image.Interpolation getInterpolation() {
        return interpolation;
    }

    /**
     * @return timm's {@code crop_pct}: the crop's share of the resized shorter side
     */
    public double getCropPct() {
        return cropPct;
    }

    /**
     * @return the shorter side after resizing, {@code floor(imageSize / cropPct)}
     */
    public int getResizeSize() {
        return resizeSize(imageSize, cropPct);
    }

    /**
     * @return the mean per channel, of pixel values in [0, 1] (a copy)
     */
    public float[] getMean() {
        return mean.clone();
    }

    /**
     * @return the standard deviation per channel (a copy)
     */
    public float[] getStd() {
        return std.clone();
    }

    /**
     * The same preprocessing for another number of channels: unchanged if it has that many, else
     * possible only where every channel has the same mean and std (repeated or cut).
     *
     * @param channels the model's input channels
     * @return the preprocessing
     * @throws IllegalArgumentException where the channels' means or stds differ
     */
    Preprocessing withChannels(int channels) {
        if (channels == mean.length) {
            return this;
        }
        if (!uniform(mean) || !uniform(std)) {
            throw new IllegalArgumentException(
                    "the model takes "
                            + channels
                            + " channels but mean and std have "
                            + mean.length
                            + " different values: give mean and std with "
                            + channels);
        }
        float[] m = new float[channels];
        float[] s = new float[channels];
        Arrays.fill(m, mean[0]);
        Arrays.fill(s, std[0]);
        return toBuilder().optMean(m).optStd(s).build();
    }

    /**
     * A builder holding this preprocessing, to change parts of it.
     *
     * @return a new builder
     */
    Builder toBuilder() {
        return builder()
                .setImageSize(imageSize)
                .optInterpolation(interpolation)
                .optCropPct(cropPct)
                .optMean(mean)
                .optStd(std);
    }

    private static boolean uniform(float[] values) {
        for (float v : values) {
            if (v != values[0]) {
                return false;
            }
        }
        return true;
    }

    private static int resizeSize(int imageSize, double cropPct) {
        return (int) Math.floor(imageSize / cropPct);
    }

    /** {@inheritDoc} */
    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Preprocessing)) {
            return false;
        }
        Preprocessing p = (Preprocessing) o;
        return imageSize == p.imageSize
                && interpolation == p.interpolation
                && Double.compare(cropPct, p.cropPct) == 0
                && Arrays.equals(mean, p.mean)
                && Arrays.equals(std, p.std);
    }

    /** {@inheritDoc} */
    @Override
    public int hashCode() {
        return Objects.hash(
                imageSize, interpolation, cropPct, Arrays.hashCode(mean), Arrays.hashCode(std));
    }

    /**
     * @return timm's names: {@code input_size=(3, 224, 224), interpolation=bicubic, ...}
     */
    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "input_size=(%d, %d, %d), interpolation=%s, crop_pct=%s, mean=%s, std=%s",
                mean.length,
                imageSize,
                imageSize,
                interpolation.name().toLowerCase(Locale.ROOT),
                cropPct,
                Arrays.toString(mean),
                Arrays.toString(std));
    }

    /** Builds a {@link Preprocessing}. */
    public static final class Builder {

        private int imageSize;
        private Image.Interpolation interpolation = Image.Interpolation.BICUBIC;
        private double cropPct = 0.875;
        private float[] mean = IMAGENET_MEAN;
        private float[] std = IMAGENET_STD;

        private Builder() {}

        /**
         * Sets the side of the square the model takes.
         *
         * @param imageSize e.g. 224
         * @return this builder
         */
        public Builder setImageSize(int imageSize) {
            this.imageSize = imageSize;
            return this;
        }

        /**
         * Sets the interpolation of the resize (default bicubic).
         *
         * @param interpolation {@code NEAREST}, {@code BILINEAR} or {@code BICUBIC}
         * @return this builder
         */
        public Builder optInterpolation(Image.Interpolation interpolation) {
            this.interpolation = interpolation;
            return this;
        }

        /**
         * Sets timm's {@code crop_pct} (default 0.875); above 1 the crop pads.
         *
         * @param cropPct the crop's share of the resized shorter side, {@code > 0}
         * @return this builder
         */
        public Builder optCropPct(double cropPct) {
            this.cropPct = cropPct;
            return this;
        }

        /**
         * Sets the mean per channel, of pixel values in [0, 1]; its length is the number of
         * channels (default ImageNet's, 3).
         *
         * @param mean the means
         * @return this builder
         */
        public Builder optMean(float... mean) {
            this.mean = mean.clone();
            return this;
        }

        /**
         * Sets the standard deviation per channel (default ImageNet's).
         *
         * @param std the standard deviations, as many as means, each {@code > 0}
         * @return this builder
         */
        public Builder optStd(float... std) {
            this.std = std.clone();
            return this;
        }

        /**
         * Builds the preprocessing.
         *
         * @return the preprocessing
         * @throws IllegalArgumentException if a value is out of range
         */
        public Preprocessing build() {
            if (imageSize < 1) {
                throw new IllegalArgumentException("imageSize must be >= 1, got " + imageSize);
            }
            if (!(cropPct > 0) || Double.isInfinite(cropPct)) {
                throw new IllegalArgumentException("cropPct must be > 0, got " + cropPct);
            }
            if (resizeSize(imageSize, cropPct) < 1) {
                throw new IllegalArgumentException(
                        "cropPct " + cropPct + " resizes " + imageSize + " to nothing");
            }
            if (interpolation != Image.Interpolation.NEAREST
                    && interpolation != Image.Interpolation.BILINEAR
                    && interpolation != Image.Interpolation.BICUBIC) {
                throw new IllegalArgumentException(
                        "interpolation must be nearest, bilinear or bicubic, got " + interpolation);
            }
            if (mean.length == 0 || mean.length != std.length) {
                throw new IllegalArgumentException(
                        "mean and std need one value per channel, got "
                                + mean.length
                                + " and "
                                + std.length);
            }
            for (int i = 0; i < mean.length; i++) {
                if (!Float.isFinite(mean[i]) || !(std[i] > 0) || Float.isInfinite(std[i])) {
                    throw new IllegalArgumentException(
                            "channel "
                                    + i
                                    + ": mean must be finite and std > 0, got "
                                    + mean[i]
                                    + " and "
                                    + std[i]);
                }
            }
            return new Preprocessing(this);
        }
    }
}
