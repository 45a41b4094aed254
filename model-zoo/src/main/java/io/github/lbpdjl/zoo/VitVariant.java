package io.github.lbpdjl.zoo;

import ai.djl.modality.cv.Image;
import io.github.lbpdjl.zoo.data.Mnist;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import io.github.lbpdjl.zoo.vit.VisionTransformerBuilder;
import java.util.Locale;

/**
 * The named ViT variants of the zoo, named as in timm. Each gives a preconfigured {@link
 * VisionTransformerBuilder}; the number of classes and input channels can still be changed.
 *
 * <table>
 *   <caption>Variants</caption>
 *   <tr><th>name</th><th>image</th><th>patch</th><th>dim</th><th>depth</th><th>heads</th>
 *   <th>mlp</th><th>classes</th><th>channels</th></tr>
 *   <tr><td>vit_tiny_patch16_224, deit_tiny_patch16_224</td><td>224</td><td>16</td><td>192</td>
 *   <td>12</td><td>3</td><td>4</td><td>1000</td><td>3</td></tr>
 *   <tr><td>vit_small_patch16_224, deit_small_patch16_224</td><td>224</td><td>16</td><td>384</td>
 *   <td>12</td><td>6</td><td>4</td><td>1000</td><td>3</td></tr>
 *   <tr><td>vit_base_patch16_224, deit_base_patch16_224</td><td>224</td><td>16</td><td>768</td>
 *   <td>12</td><td>12</td><td>4</td><td>1000</td><td>3</td></tr>
 *   <tr><td>vit_small_patch16_384, vit_base_patch16_384</td><td>384</td><td>16</td>
 *   <td>384, 768</td><td>12</td><td>6, 12</td><td>4</td><td>1000</td><td>3</td></tr>
 *   <tr><td>vit_base_patch32_224</td><td>224</td><td>32</td><td>768</td>
 *   <td>12</td><td>12</td><td>4</td><td>1000</td><td>3</td></tr>
 *   <tr><td>vit_small_patch8_224, vit_base_patch8_224</td><td>224</td><td>8</td><td>384, 768</td>
 *   <td>12</td><td>6, 12</td><td>4</td><td>1000</td><td>3</td></tr>
 *   <tr><td>deit_{tiny,small,base}_distilled_patch16_224 (dist_token, head_dist)</td><td>224</td>
 *   <td>16</td><td>192, 384, 768</td><td>12</td><td>3, 6, 12</td><td>4</td><td>1000</td>
 *   <td>3</td></tr>
 *   <tr><td>vit_micro_patch4_32 (this project's)</td><td>32</td><td>4</td><td>64</td><td>4</td>
 *   <td>4</td><td>2</td><td>10</td><td>1</td></tr>
 * </table>
 */
public enum VitVariant {
    /** timm vit_tiny_patch16_224. */
    VIT_TINY_PATCH16_224(224, 16, 192, 12, 3, 4.0, 1000, 3),
    /** timm vit_small_patch16_224. */
    VIT_SMALL_PATCH16_224(224, 16, 384, 12, 6, 4.0, 1000, 3),
    /** timm vit_base_patch16_224. */
    VIT_BASE_PATCH16_224(224, 16, 768, 12, 12, 4.0, 1000, 3),
    /** timm deit_tiny_patch16_224 (same shapes as vit_tiny). */
    DEIT_TINY_PATCH16_224(224, 16, 192, 12, 3, 4.0, 1000, 3),
    /** timm deit_small_patch16_224 (same shapes as vit_small). */
    DEIT_SMALL_PATCH16_224(224, 16, 384, 12, 6, 4.0, 1000, 3),
    /** timm deit_base_patch16_224 (same shapes as vit_base). */
    DEIT_BASE_PATCH16_224(224, 16, 768, 12, 12, 4.0, 1000, 3),
    /** This project's micro ViT for 32x32 single-channel images (MNIST padded to 32). */
    VIT_MICRO_PATCH4_32(32, 4, 64, 4, 4, 2.0, 10, 1),
    /** timm vit_small_patch16_384. */
    VIT_SMALL_PATCH16_384(384, 16, 384, 12, 6, 4.0, 1000, 3),
    /** timm vit_base_patch16_384. */
    VIT_BASE_PATCH16_384(384, 16, 768, 12, 12, 4.0, 1000, 3),
    /** timm vit_base_patch32_224. */
    VIT_BASE_PATCH32_224(224, 32, 768, 12, 12, 4.0, 1000, 3),
    /** timm vit_small_patch8_224 (DINO weights in timm: headless). */
    VIT_SMALL_PATCH8_224(224, 8, 384, 12, 6, 4.0, 1000, 3),
    /** timm vit_base_patch8_224. */
    VIT_BASE_PATCH8_224(224, 8, 768, 12, 12, 4.0, 1000, 3),
    /** timm deit_tiny_distilled_patch16_224: distillation token and head. */
    DEIT_TINY_DISTILLED_PATCH16_224(224, 16, 192, 12, 3, 4.0, 1000, 3),
    /** timm deit_small_distilled_patch16_224: distillation token and head. */
    DEIT_SMALL_DISTILLED_PATCH16_224(224, 16, 384, 12, 6, 4.0, 1000, 3),
    /** timm deit_base_distilled_patch16_224: distillation token and head. */
    DEIT_BASE_DISTILLED_PATCH16_224(224, 16, 768, 12, 12, 4.0, 1000, 3);

    private final int imageSize;
    private final int patchSize;
    private final int embedDim;
    private final int depth;
    private final int numHeads;
    private final double mlpRatio;
    private final int numClasses;
    private final int inChannels;

    VitVariant(
            int imageSize,
            int patchSize,
            int embedDim,
            int depth,
            int numHeads,
            double mlpRatio,
            int numClasses,
            int inChannels) {
        this.imageSize = imageSize;
        this.patchSize = patchSize;
        this.embedDim = embedDim;
        this.depth = depth;
        this.numHeads = numHeads;
        this.mlpRatio = mlpRatio;
        this.numClasses = numClasses;
        this.inChannels = inChannels;
    }

    /**
     * @return the timm name, e.g. "vit_small_patch16_224" (also the zoo's artifact id)
     */
    public String getName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Finds a variant by its timm name.
     *
     * @param name e.g. "deit_tiny_patch16_224"
     * @return the variant
     * @throws IllegalArgumentException if unknown
     */
    public static VitVariant fromName(String name) {
        for (VitVariant v : values()) {
            if (v.getName().equals(name)) {
                return v;
            }
        }
        throw new IllegalArgumentException("unknown ViT variant: " + name);
    }

    /**
     * A builder preset to this variant (default classes and channels).
     *
     * @return a builder
     */
    public VisionTransformerBuilder builder() {
        return VisionTransformer.builder()
                .setImageSize(imageSize)
                .setPatchSize(patchSize)
                .setEmbedDim(embedDim)
                .setDepth(depth)
                .setNumHeads(numHeads)
                .optMlpRatio(mlpRatio)
                .optNumClasses(numClasses)
                .optInChannels(inChannels)
                .optDistilled(isDistilled());
    }

    /**
     * @return whether this is a distilled DeiT ({@code dist_token}, {@code head_dist})
     */
    public boolean isDistilled() {
        return getName().contains("_distilled_");
    }

    /**
     * @return the patch side
     */
    public int getPatchSize() {
        return patchSize;
    }

    /**
     * @return the embedding dimension
     */
    public int getEmbedDim() {
        return embedDim;
    }

    /**
     * @return the number of blocks
     */
    public int getDepth() {
        return depth;
    }

    /**
     * @return the number of attention heads
     */
    public int getNumHeads() {
        return numHeads;
    }

    /**
     * @return the MLP ratio
     */
    public double getMlpRatio() {
        return mlpRatio;
    }

    /**
     * Builds the variant with its default classes and channels.
     *
     * @return the model
     */
    public VisionTransformer build() {
        return builder().build();
    }

    /**
     * @return the default number of classes
     */
    public int getDefaultNumClasses() {
        return numClasses;
    }

    /**
     * @return the default number of input channels
     */
    public int getDefaultInChannels() {
        return inChannels;
    }

    /**
     * @return the image side
     */
    public int getImageSize() {
        return imageSize;
    }

    /**
     * The images this variant takes, as timm's {@code pretrained_cfg} of its default weights says:
     * all bicubic, {@code crop_pct} 0.9 (1.0 at 384 pixels); mean and std 0.5 for the ViTs (timm's
     * augreg weights, {@code IMAGENET_INCEPTION_MEAN}), ImageNet's for the DeiTs and {@code
     * vit_small_patch8_224} (DINO). {@code vit_micro_patch4_32} as its training ({@link
     * io.github.lbpdjl.zoo.train.TrainMicroMnist}, {@link Mnist}): MNIST's 28 pixels padded with
     * black to 32 ({@code crop_pct} 32/28: the shorter side resized to 28, then padded; a 28x28
     * image is not resampled), mean 0.1307, std 0.3081, one channel; bilinear for other sizes.
     *
     * @return the preprocessing, for the default channels
     */
    public Preprocessing getPreprocessing() {
        Preprocessing.Builder b =
                Preprocessing.builder()
                        .setImageSize(imageSize)
                        .optInterpolation(Image.Interpolation.BICUBIC)
                        .optCropPct(0.9);
        switch (this) {
            case VIT_MICRO_PATCH4_32:
                return b.optInterpolation(Image.Interpolation.BILINEAR)
                        .optCropPct(32.0 / 28)
                        .optMean(Mnist.MEAN)
                        .optStd(Mnist.STD)
                        .build();
            case DEIT_TINY_PATCH16_224:
            case DEIT_SMALL_PATCH16_224:
            case DEIT_BASE_PATCH16_224:
            case DEIT_TINY_DISTILLED_PATCH16_224:
            case DEIT_SMALL_DISTILLED_PATCH16_224:
            case DEIT_BASE_DISTILLED_PATCH16_224:
            case VIT_SMALL_PATCH8_224:
                return b.build(); // ImageNet's mean and std
            case VIT_SMALL_PATCH16_384:
            case VIT_BASE_PATCH16_384:
                return b.optCropPct(1.0).optMean(0.5f, 0.5f, 0.5f).optStd(0.5f, 0.5f, 0.5f).build();
            default:
                return b.optMean(0.5f, 0.5f, 0.5f).optStd(0.5f, 0.5f, 0.5f).build();
        }
    }
}
