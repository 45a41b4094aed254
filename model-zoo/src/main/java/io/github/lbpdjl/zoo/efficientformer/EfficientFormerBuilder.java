package io.github.lbpdjl.zoo.efficientformer;

import ai.djl.ndarray.NDArray;
import io.github.lbpdjl.zoo.vit.Gelu;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * Builds an {@link EfficientFormer}: setX for required values, optX for optional ones, defaults as
 * timm's {@code EfficientFormer}; {@link #build()} validates. Start from {@link
 * EfficientFormer#builder()} or a zoo variant's preset.
 *
 * <p>timm fixes the attention biases to a 7x7 grid, so its models take 224x224 images with four
 * stages; here the grid follows the image size (each 3x3 stride-2 convolution rounds the side up),
 * which gives timm's model where timm has one.
 */
public final class EfficientFormerBuilder {

    int imageHeight = 224;
    int imageWidth = 224;
    int inChannels = 3;
    int numClasses = 1000;
    int[] depths;
    int[] embedDims;
    int numVit = 1;
    double mlpRatio = 4.0;
    int poolSize = 3;
    float layerScaleInit = 1e-5f;
    float layerNormEps = 1e-5f;
    boolean[] downsamples;
    boolean[] resolvedDownsamples;
    UnaryOperator<NDArray> activation = Gelu::gelu;

    EfficientFormerBuilder() {}

    /**
     * Sets the blocks per stage (timm's {@code depths}), e.g. 3, 2, 6, 4 for l1.
     *
     * @param depths one per stage
     * @return this
     */
    public EfficientFormerBuilder setDepths(int... depths) {
        this.depths = depths.clone();
        return this;
    }

    /**
     * Sets the width of each stage (timm's {@code embed_dims}), e.g. 48, 96, 224, 448 for l1.
     *
     * @param embedDims one per stage
     * @return this
     */
    public EfficientFormerBuilder setEmbedDims(int... embedDims) {
        this.embedDims = embedDims.clone();
        return this;
    }

    /**
     * Sets how many of the last stage's blocks are Meta3D (attention) blocks (timm's {@code
     * num_vit}; default 1, at least 1; more than the stage's depth counts as its depth).
     *
     * @param numVit the number of Meta3D blocks
     * @return this
     */
    public EfficientFormerBuilder setNumVit(int numVit) {
        this.numVit = numVit;
        return this;
    }

    /**
     * Sets a square image size (default 224).
     *
     * @param size H = W
     * @return this
     */
    public EfficientFormerBuilder setImageSize(int size) {
        return setImageSize(size, size);
    }

    /**
     * Sets the image size (default 224 x 224).
     *
     * @param height H
     * @param width W
     * @return this
     */
    public EfficientFormerBuilder setImageSize(int height, int width) {
        this.imageHeight = height;
        this.imageWidth = width;
        return this;
    }

    /**
     * Sets the number of classes of both classifiers (default 1000).
     *
     * @param numClasses the classes
     * @return this
     */
    public EfficientFormerBuilder optNumClasses(int numClasses) {
        this.numClasses = numClasses;
        return this;
    }

    /**
     * Sets the number of input channels (default 3).
     *
     * @param inChannels the channels
     * @return this
     */
    public EfficientFormerBuilder optInChannels(int inChannels) {
        this.inChannels = inChannels;
        return this;
    }

    /**
     * Sets the MLP hidden width as a multiple of the stage width (default 4).
     *
     * @param mlpRatio the ratio
     * @return this
     */
    public EfficientFormerBuilder optMlpRatio(double mlpRatio) {
        this.mlpRatio = mlpRatio;
        return this;
    }

    /**
     * Sets the side of the Meta4D blocks' average pool (default 3).
     *
     * @param poolSize an odd side
     * @return this
     */
    public EfficientFormerBuilder optPoolSize(int poolSize) {
        this.poolSize = poolSize;
        return this;
    }

    /**
     * Sets the initial layer scale (default 1e-5).
     *
     * @param value the initial factor
     * @return this
     */
    public EfficientFormerBuilder optLayerScaleInit(float value) {
        this.layerScaleInit = value;
        return this;
    }

    /**
     * Sets the LayerNorm epsilon (default 1e-5, PyTorch's {@code nn.LayerNorm} default, which
     * timm's EfficientFormer uses).
     *
     * @param eps epsilon
     * @return this
     */
    public EfficientFormerBuilder optLayerNormEps(float eps) {
        this.layerNormEps = eps;
        return this;
    }

    /**
     * Sets which stages start with a downsampling (default: all but the first).
     *
     * @param downsamples one per stage
     * @return this
     */
    public EfficientFormerBuilder optDownsamples(boolean... downsamples) {
        this.downsamples = downsamples.clone();
        return this;
    }

    /**
     * Sets the MLPs' activation (timm's {@code act_layer}; default exact GELU, {@link
     * Gelu#gelu(NDArray)}).
     *
     * @param activation the activation
     * @return this
     */
    public EfficientFormerBuilder optActivation(UnaryOperator<NDArray> activation) {
        this.activation = Objects.requireNonNull(activation, "activation");
        return this;
    }

    /**
     * Validates and builds the model.
     *
     * @return the model
     * @throws IllegalArgumentException naming the bad value
     */
    public EfficientFormer build() {
        if (depths == null || embedDims == null) {
            throw new IllegalArgumentException("set the depths and the embedding dimensions");
        }
        if (depths.length < 1 || depths.length != embedDims.length) {
            throw new IllegalArgumentException(
                    "need as many depths as embedding dimensions (one per stage), got "
                            + Arrays.toString(depths)
                            + " and "
                            + Arrays.toString(embedDims));
        }
        boolean[] down = downsamples;
        if (down == null) {
            down = new boolean[depths.length];
            Arrays.fill(down, 1, down.length, true);
        } else if (down.length != depths.length) {
            throw new IllegalArgumentException(
                    "need one downsample flag per stage, got " + Arrays.toString(down));
        }
        for (int i = 0; i < depths.length; i++) {
            positive("depth of stage " + i, depths[i]);
            positive("embedding dimension of stage " + i, embedDims[i]);
            if (i > 0 && !down[i] && embedDims[i] != embedDims[i - 1]) {
                throw new IllegalArgumentException(
                        "stage "
                                + i
                                + " has no downsampling, so its width must stay "
                                + embedDims[i - 1]
                                + ", got "
                                + embedDims[i]);
            }
        }
        if (embedDims[0] < 2) {
            throw new IllegalArgumentException(
                    "the first stage's width must be >= 2 (the stem halves it), got "
                            + embedDims[0]);
        }
        positive("number of Meta3D blocks (setNumVit)", numVit);
        positive("image height (setImageSize)", imageHeight);
        positive("image width (setImageSize)", imageWidth);
        positive("number of classes (optNumClasses)", numClasses);
        positive("input channels (optInChannels)", inChannels);
        if (poolSize < 1 || poolSize % 2 == 0) {
            throw new IllegalArgumentException("pool size must be odd and >= 1, got " + poolSize);
        }
        for (int dim : embedDims) {
            if (!(mlpRatio > 0) || (int) (dim * mlpRatio) < 1) {
                throw new IllegalArgumentException(
                        "MLP ratio must give a hidden width >= 1, got ratio " + mlpRatio);
            }
        }
        if (!(layerNormEps > 0)) {
            throw new IllegalArgumentException(
                    "LayerNorm epsilon must be > 0, got " + layerNormEps);
        }
        resolvedDownsamples = down;
        return new EfficientFormer(this);
    }

    /** The side after a 3x3 convolution of stride 2 and padding 1. */
    static int halve(int side) {
        return (side - 1) / 2 + 1;
    }

    private static void positive(String what, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(what + " must be >= 1, got " + value);
        }
    }
}
