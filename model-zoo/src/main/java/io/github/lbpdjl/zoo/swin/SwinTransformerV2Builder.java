package io.github.lbpdjl.zoo.swin;

import ai.djl.ndarray.NDArray;
import io.github.lbpdjl.zoo.vit.Gelu;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * Builds a {@link SwinTransformerV2}: setX for required values, optX for optional ones, defaults as
 * timm's {@code SwinTransformerV2} (patch 4, window 7, MLP ratio 4, LayerNorm epsilon 1e-5, exact
 * GELU, no drop path); {@link #build()} validates. Start from {@link SwinTransformerV2#builder()}
 * or a zoo variant's preset.
 */
public final class SwinTransformerV2Builder {

    int imageHeight = 224;
    int imageWidth = 224;
    int patchSize = 4;
    int inChannels = 3;
    int numClasses = 1000;
    int embedDim = 96;
    int[] depths;
    int[] numHeads;
    int windowSize = 7;
    double mlpRatio = 4.0;
    float layerNormEps = 1e-5f;
    UnaryOperator<NDArray> activation = Gelu::gelu;

    SwinTransformerV2Builder() {}

    /**
     * Sets the blocks per stage (timm's {@code depths}), e.g. 2, 2, 6, 2 for tiny.
     *
     * @param depths one per stage
     * @return this
     */
    public SwinTransformerV2Builder setDepths(int... depths) {
        this.depths = depths.clone();
        return this;
    }

    /**
     * Sets the attention heads per stage (timm's {@code num_heads}), e.g. 3, 6, 12, 24.
     *
     * @param numHeads one per stage
     * @return this
     */
    public SwinTransformerV2Builder setNumHeads(int... numHeads) {
        this.numHeads = numHeads.clone();
        return this;
    }

    /**
     * Sets the width of the first stage (timm's {@code embed_dim}; stage i has 2^i times it).
     *
     * @param embedDim the width
     * @return this
     */
    public SwinTransformerV2Builder setEmbedDim(int embedDim) {
        this.embedDim = embedDim;
        return this;
    }

    /**
     * Sets the square window side (timm's {@code window_size}; default 7); a stage whose map is at
     * most a window along an axis gets that axis's map size and no shift there, as in timm.
     *
     * @param windowSize the window side
     * @return this
     */
    public SwinTransformerV2Builder setWindowSize(int windowSize) {
        this.windowSize = windowSize;
        return this;
    }

    /**
     * Sets a square image size (default 224).
     *
     * @param size H = W
     * @return this
     */
    public SwinTransformerV2Builder setImageSize(int size) {
        return setImageSize(size, size);
    }

    /**
     * Sets the image size.
     *
     * @param height H
     * @param width W
     * @return this
     */
    public SwinTransformerV2Builder setImageSize(int height, int width) {
        this.imageHeight = height;
        this.imageWidth = width;
        return this;
    }

    /**
     * Sets the patch side (default 4).
     *
     * @param patchSize the patch side
     * @return this
     */
    public SwinTransformerV2Builder optPatchSize(int patchSize) {
        this.patchSize = patchSize;
        return this;
    }

    /**
     * Sets the input channels (default 3).
     *
     * @param inChannels the channels
     * @return this
     */
    public SwinTransformerV2Builder optInChannels(int inChannels) {
        this.inChannels = inChannels;
        return this;
    }

    /**
     * Sets the classes of the head (default 1000).
     *
     * @param numClasses the classes
     * @return this
     */
    public SwinTransformerV2Builder optNumClasses(int numClasses) {
        this.numClasses = numClasses;
        return this;
    }

    /**
     * Sets the MLP's hidden width as a multiple of the stage's width (default 4).
     *
     * @param mlpRatio the ratio
     * @return this
     */
    public SwinTransformerV2Builder optMlpRatio(double mlpRatio) {
        this.mlpRatio = mlpRatio;
        return this;
    }

    /**
     * Sets the LayerNorm epsilon (default 1e-5, PyTorch's).
     *
     * @param eps the epsilon
     * @return this
     */
    public SwinTransformerV2Builder optLayerNormEps(float eps) {
        this.layerNormEps = eps;
        return this;
    }

    /**
     * Sets the MLP's activation (default the exact GELU).
     *
     * @param activation the activation
     * @return this
     */
    public SwinTransformerV2Builder optActivation(UnaryOperator<NDArray> activation) {
        this.activation = Objects.requireNonNull(activation, "activation");
        return this;
    }

    /**
     * Builds the model.
     *
     * @return the model, not initialised
     * @throws IllegalArgumentException naming the first invalid value
     */
    public SwinTransformerV2 build() {
        if (depths == null || numHeads == null) {
            throw new IllegalArgumentException("depths and numHeads must be set");
        }
        if (depths.length == 0 || depths.length != numHeads.length) {
            throw new IllegalArgumentException(
                    "depths "
                            + Arrays.toString(depths)
                            + " and numHeads "
                            + Arrays.toString(numHeads)
                            + " must have one entry per stage");
        }
        for (int i = 0; i < depths.length; i++) {
            if (depths[i] < 1) {
                throw new IllegalArgumentException("depths must be >= 1, got " + depths[i]);
            }
            long width = (long) embedDim << i;
            if (numHeads[i] < 1 || width % numHeads[i] != 0) {
                throw new IllegalArgumentException(
                        "numHeads["
                                + i
                                + "]="
                                + numHeads[i]
                                + " must divide the stage's width "
                                + width);
            }
        }
        if (embedDim < 1 || patchSize < 1 || inChannels < 1 || numClasses < 1) {
            throw new IllegalArgumentException(
                    "embedDim, patchSize, inChannels and numClasses must be >= 1");
        }
        if (windowSize < 2) {
            throw new IllegalArgumentException("windowSize must be >= 2, got " + windowSize);
        }
        if (!(mlpRatio > 0)) {
            throw new IllegalArgumentException("mlpRatio must be > 0, got " + mlpRatio);
        }
        long scale = (long) patchSize << (depths.length - 1);
        if (imageHeight % scale != 0 || imageWidth % scale != 0) {
            throw new IllegalArgumentException(
                    "image "
                            + imageHeight
                            + "x"
                            + imageWidth
                            + " must be a multiple of patch size x 2^(stages - 1) = "
                            + scale);
        }
        return new SwinTransformerV2(this);
    }
}
