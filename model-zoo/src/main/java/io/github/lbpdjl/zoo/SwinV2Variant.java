package io.github.lbpdjl.zoo;

import ai.djl.modality.cv.Image;
import io.github.lbpdjl.zoo.swin.SwinTransformerV2;
import io.github.lbpdjl.zoo.swin.SwinTransformerV2Builder;
import java.util.Locale;

/**
 * The Swin Transformer V2 variants of the zoo, named and shaped as in timm (256x256 RGB input,
 * patch 4, 1000 classes, MLP ratio 4). Each gives a preconfigured {@link SwinTransformerV2Builder};
 * the number of classes and input channels can still be changed.
 *
 * <table>
 *   <caption>Variants</caption>
 *   <tr><th>name</th><th>embed</th><th>depths</th><th>heads</th><th>window</th>
 *   <th>parameters</th></tr>
 *   <tr><td>swinv2_tiny_window8_256</td><td>96</td><td>2, 2, 6, 2</td><td>3, 6, 12, 24</td>
 *   <td>8</td><td>28.3 M</td></tr>
 *   <tr><td>swinv2_tiny_window16_256</td><td>96</td><td>2, 2, 6, 2</td><td>3, 6, 12, 24</td>
 *   <td>16</td><td>28.3 M</td></tr>
 *   <tr><td>swinv2_small_window8_256</td><td>96</td><td>2, 2, 18, 2</td><td>3, 6, 12, 24</td>
 *   <td>8</td><td>49.7 M</td></tr>
 *   <tr><td>swinv2_small_window16_256</td><td>96</td><td>2, 2, 18, 2</td><td>3, 6, 12, 24</td>
 *   <td>16</td><td>49.7 M</td></tr>
 *   <tr><td>swinv2_base_window8_256</td><td>128</td><td>2, 2, 18, 2</td><td>4, 8, 16, 32</td>
 *   <td>8</td><td>87.9 M</td></tr>
 *   <tr><td>swinv2_base_window16_256</td><td>128</td><td>2, 2, 18, 2</td><td>4, 8, 16, 32</td>
 *   <td>16</td><td>87.9 M</td></tr>
 * </table>
 */
public enum SwinV2Variant {
    /** timm swinv2_tiny_window8_256. */
    SWINV2_TINY_WINDOW8_256(96, new int[] {2, 2, 6, 2}, new int[] {3, 6, 12, 24}, 8),
    /** timm swinv2_tiny_window16_256. */
    SWINV2_TINY_WINDOW16_256(96, new int[] {2, 2, 6, 2}, new int[] {3, 6, 12, 24}, 16),
    /** timm swinv2_small_window8_256. */
    SWINV2_SMALL_WINDOW8_256(96, new int[] {2, 2, 18, 2}, new int[] {3, 6, 12, 24}, 8),
    /** timm swinv2_small_window16_256. */
    SWINV2_SMALL_WINDOW16_256(96, new int[] {2, 2, 18, 2}, new int[] {3, 6, 12, 24}, 16),
    /** timm swinv2_base_window8_256. */
    SWINV2_BASE_WINDOW8_256(128, new int[] {2, 2, 18, 2}, new int[] {4, 8, 16, 32}, 8),
    /** timm swinv2_base_window16_256. */
    SWINV2_BASE_WINDOW16_256(128, new int[] {2, 2, 18, 2}, new int[] {4, 8, 16, 32}, 16);

    /** The image side of every variant. */
    public static final int IMAGE_SIZE = 256;

    private final int embedDim;
    private final int[] depths;
    private final int[] numHeads;
    private final int windowSize;

    SwinV2Variant(int embedDim, int[] depths, int[] numHeads, int windowSize) {
        this.embedDim = embedDim;
        this.depths = depths;
        this.numHeads = numHeads;
        this.windowSize = windowSize;
    }

    /**
     * @return the timm name, e.g. "swinv2_tiny_window8_256" (also the zoo's artifact id)
     */
    public String getName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Finds a variant by its timm name.
     *
     * @param name e.g. "swinv2_small_window8_256"
     * @return the variant
     * @throws IllegalArgumentException if unknown
     */
    public static SwinV2Variant fromName(String name) {
        for (SwinV2Variant v : values()) {
            if (v.getName().equals(name)) {
                return v;
            }
        }
        throw new IllegalArgumentException("unknown SwinV2 variant: " + name);
    }

    /**
     * A builder preset to this variant (1000 classes, 3 channels, 256x256).
     *
     * @return a builder
     */
    public SwinTransformerV2Builder builder() {
        return SwinTransformerV2.builder()
                .setImageSize(IMAGE_SIZE)
                .setEmbedDim(embedDim)
                .setDepths(depths)
                .setNumHeads(numHeads)
                .setWindowSize(windowSize);
    }

    /**
     * Builds the variant with its default classes and channels.
     *
     * @return the model
     */
    public SwinTransformerV2 build() {
        return builder().build();
    }

    /**
     * The images every variant takes, as timm's {@code pretrained_cfg} says: (3, 256, 256),
     * bicubic, {@code crop_pct} 0.9, ImageNet's mean (0.485, 0.456, 0.406) and std (0.229, 0.224,
     * 0.225).
     *
     * @return the preprocessing
     */
    public Preprocessing getPreprocessing() {
        return Preprocessing.builder()
                .setImageSize(IMAGE_SIZE)
                .optInterpolation(Image.Interpolation.BICUBIC)
                .optCropPct(0.9)
                .build();
    }
}
