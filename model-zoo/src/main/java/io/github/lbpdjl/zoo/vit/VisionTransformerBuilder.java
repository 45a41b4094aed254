package io.github.lbpdjl.zoo.vit;

/**
 * Builds a {@link VisionTransformer}: setX for required values, optX for optional ones; {@link
 * #build()} validates. Start from {@link VisionTransformer#builder()} or a zoo variant's preset.
 */
public final class VisionTransformerBuilder {

    int imageHeight;
    int imageWidth;
    int patchSize;
    int embedDim;
    int depth;
    int numHeads;
    double mlpRatio = 4.0;
    int numClasses = 1000;
    int inChannels = 3;
    boolean qkvBias = true;
    float layerNormEps = 1e-6f;

    VisionTransformerBuilder() {}

    /**
     * Sets a square image size.
     *
     * @param size H = W
     * @return this
     */
    public VisionTransformerBuilder setImageSize(int size) {
        return setImageSize(size, size);
    }

    /**
     * Sets the image size.
     *
     * @param height H
     * @param width W
     * @return this
     */
    public VisionTransformerBuilder setImageSize(int height, int width) {
        this.imageHeight = height;
        this.imageWidth = width;
        return this;
    }

    /**
     * Sets the (square) patch side.
     *
     * @param patchSize p
     * @return this
     */
    public VisionTransformerBuilder setPatchSize(int patchSize) {
        this.patchSize = patchSize;
        return this;
    }

    /**
     * Sets the embedding dimension.
     *
     * @param embedDim C
     * @return this
     */
    public VisionTransformerBuilder setEmbedDim(int embedDim) {
        this.embedDim = embedDim;
        return this;
    }

    /**
     * Sets the number of encoder blocks.
     *
     * @param depth the depth
     * @return this
     */
    public VisionTransformerBuilder setDepth(int depth) {
        this.depth = depth;
        return this;
    }

    /**
     * Sets the number of attention heads.
     *
     * @param numHeads heads; must divide the embedding dimension
     * @return this
     */
    public VisionTransformerBuilder setNumHeads(int numHeads) {
        this.numHeads = numHeads;
        return this;
    }

    /**
     * Sets the MLP hidden width as a multiple of the embedding dimension (default 4).
     *
     * @param mlpRatio the ratio
     * @return this
     */
    public VisionTransformerBuilder optMlpRatio(double mlpRatio) {
        this.mlpRatio = mlpRatio;
        return this;
    }

    /**
     * Sets the number of classes (default 1000).
     *
     * @param numClasses classes of the head
     * @return this
     */
    public VisionTransformerBuilder optNumClasses(int numClasses) {
        this.numClasses = numClasses;
        return this;
    }

    /**
     * Sets the number of input channels (default 3).
     *
     * @param inChannels input channels
     * @return this
     */
    public VisionTransformerBuilder optInChannels(int inChannels) {
        this.inChannels = inChannels;
        return this;
    }

    /**
     * Sets whether the qkv Linear has a bias (default true).
     *
     * @param qkvBias the flag
     * @return this
     */
    public VisionTransformerBuilder optQkvBias(boolean qkvBias) {
        this.qkvBias = qkvBias;
        return this;
    }

    /**
     * Sets the LayerNorm epsilon (default 1e-6 as timm's ViT).
     *
     * @param eps epsilon
     * @return this
     */
    public VisionTransformerBuilder optLayerNormEps(float eps) {
        this.layerNormEps = eps;
        return this;
    }

    int mlpHidden() {
        return (int) (embedDim * mlpRatio);
    }

    /**
     * Validates and builds the model.
     *
     * @return the model
     * @throws IllegalArgumentException naming the bad value
     */
    public VisionTransformer build() {
        positive("image height (setImageSize)", imageHeight);
        positive("image width (setImageSize)", imageWidth);
        positive("patch size (setPatchSize)", patchSize);
        positive("embedding dimension (setEmbedDim)", embedDim);
        positive("depth (setDepth)", depth);
        positive("number of heads (setNumHeads)", numHeads);
        positive("number of classes (optNumClasses)", numClasses);
        positive("input channels (optInChannels)", inChannels);
        if (imageHeight % patchSize != 0 || imageWidth % patchSize != 0) {
            throw new IllegalArgumentException(
                    "image size "
                            + imageHeight
                            + "x"
                            + imageWidth
                            + " is not a multiple of the patch size "
                            + patchSize);
        }
        if (embedDim % numHeads != 0) {
            throw new IllegalArgumentException(
                    "embedding dimension "
                            + embedDim
                            + " is not a multiple of the number of heads "
                            + numHeads);
        }
        if (!(mlpRatio > 0) || mlpHidden() < 1) {
            throw new IllegalArgumentException(
                    "MLP ratio must give a hidden width >= 1, got ratio " + mlpRatio);
        }
        if (!(layerNormEps > 0)) {
            throw new IllegalArgumentException(
                    "LayerNorm epsilon must be > 0, got " + layerNormEps);
        }
        return new VisionTransformer(this);
    }

    private static void positive(String what, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(what + " must be >= 1, got " + value);
        }
    }
}
