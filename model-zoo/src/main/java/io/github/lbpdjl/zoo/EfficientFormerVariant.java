package io.github.lbpdjl.zoo;

import ai.djl.modality.cv.Image;
import io.github.lbpdjl.zoo.efficientformer.EfficientFormer;
import io.github.lbpdjl.zoo.efficientformer.EfficientFormerBuilder;
import java.util.Locale;

/**
 * The EfficientFormer variants of the zoo, named and shaped as in timm (224x224 RGB input, 1000
 * classes, MLP ratio 4, Meta3D blocks at the end of the fourth stage). Each gives a preconfigured
 * {@link EfficientFormerBuilder}; the number of classes and input channels can still be changed.
 *
 * <table>
 *   <caption>Variants</caption>
 *   <tr><th>name</th><th>depths</th><th>widths</th><th>Meta3D blocks</th><th>parameters</th></tr>
 *   <tr><td>efficientformer_l1</td><td>3, 2, 6, 4</td><td>48, 96, 224, 448</td><td>1</td>
 *   <td>12.3 M</td></tr>
 *   <tr><td>efficientformer_l3</td><td>4, 4, 12, 6</td><td>64, 128, 320, 512</td><td>4</td>
 *   <td>31.4 M</td></tr>
 *   <tr><td>efficientformer_l7</td><td>6, 6, 18, 8</td><td>96, 192, 384, 768</td><td>8</td>
 *   <td>82.2 M</td></tr>
 * </table>
 */
public enum EfficientFormerVariant {
    /** timm efficientformer_l1. */
    EFFICIENTFORMER_L1(new int[] {3, 2, 6, 4}, new int[] {48, 96, 224, 448}, 1),
    /** timm efficientformer_l3. */
    EFFICIENTFORMER_L3(new int[] {4, 4, 12, 6}, new int[] {64, 128, 320, 512}, 4),
    /** timm efficientformer_l7. */
    EFFICIENTFORMER_L7(new int[] {6, 6, 18, 8}, new int[] {96, 192, 384, 768}, 8);

    private final int[] depths;
    private final int[] embedDims;
    private final int numVit;

    EfficientFormerVariant(int[] depths, int[] embedDims, int numVit) {
        this.depths = depths;
        this.embedDims = embedDims;
        this.numVit = numVit;
    }

    /**
     * @return the timm name, e.g. "efficientformer_l1" (also the zoo's artifact id)
     */
    public String getName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Finds a variant by its timm name.
     *
     * @param name e.g. "efficientformer_l3"
     * @return the variant
     * @throws IllegalArgumentException if unknown
     */
    public static EfficientFormerVariant fromName(String name) {
        for (EfficientFormerVariant v : values()) {
            if (v.getName().equals(name)) {
                return v;
            }
        }
        throw new IllegalArgumentException("unknown EfficientFormer variant: " + name);
    }

    /**
     * A builder preset to this variant (1000 classes, 3 channels, 224x224).
     *
     * @return a builder
     */
    public EfficientFormerBuilder builder() {
        return EfficientFormer.builder()
                .setDepths(depths)
                .setEmbedDims(embedDims)
                .setNumVit(numVit);
    }

    /**
     * Builds the variant with its default classes and channels.
     *
     * @return the model
     */
    public EfficientFormer build() {
        return builder().build();
    }

    /**
     * The images every variant takes, as timm's {@code pretrained_cfg} says: (3, 224, 224),
     * bicubic, {@code crop_pct} 0.95, ImageNet's mean (0.485, 0.456, 0.406) and std (0.229, 0.224,
     * 0.225).
     *
     * @return the preprocessing
     */
    public Preprocessing getPreprocessing() {
        return Preprocessing.builder()
                .setImageSize(224)
                .optInterpolation(Image.Interpolation.BICUBIC)
                .optCropPct(0.95)
                .build();
    }
}
