package io.github.lbpdjl.zoo.vit;

import ai.djl.ndarray.NDArray;
import java.util.Objects;
import java.util.function.UnaryOperator;

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
    boolean classToken = true;
    boolean distilled;
    int regTokens;
    boolean noEmbedClass;
    String globalPool = "token";
    Boolean fcNorm;
    float initValues;
    UnaryOperator<NDArray> activation = Gelu::gelu;

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

    /**
     * Sets whether the model has a class token (default true, timm's {@code class_token}).
     *
     * @param classToken the flag
     * @return this
     */
    public VisionTransformerBuilder optClassToken(boolean classToken) {
        this.classToken = classToken;
        return this;
    }

    /**
     * Makes a DeiT with distillation ({@code deit_*_distilled}): a {@code dist_token} after the
     * class token and a second classifier {@code head_dist} on it, the two heads' outputs averaged
     * (in training too, as timm does unless {@code set_distilled_training}).
     *
     * @param distilled the flag (default false)
     * @return this
     */
    public VisionTransformerBuilder optDistilled(boolean distilled) {
        this.distilled = distilled;
        return this;
    }

    /**
     * Sets the number of register tokens ({@code reg_token}, after the class token; default 0).
     *
     * @param regTokens the number of registers
     * @return this
     */
    public VisionTransformerBuilder optRegTokens(int regTokens) {
        this.regTokens = regTokens;
        return this;
    }

    /**
     * Sets whether the position embeddings cover only the patches, added before the class and
     * register tokens are put in front (timm's {@code no_embed_class}; default false).
     *
     * @param noEmbedClass the flag
     * @return this
     */
    public VisionTransformerBuilder optNoEmbedClass(boolean noEmbedClass) {
        this.noEmbedClass = noEmbedClass;
        return this;
    }

    /**
     * Sets the pooling before the head: {@code "token"} (the class token, default) or {@code "avg"}
     * (the mean of the patch tokens), timm's {@code global_pool}.
     *
     * @param globalPool token or avg
     * @return this
     */
    public VisionTransformerBuilder optGlobalPool(String globalPool) {
        this.globalPool = globalPool;
        return this;
    }

    /**
     * Sets whether the final LayerNorm comes after the pooling ({@code fc_norm}) instead of before
     * it ({@code norm}); default: after for {@code avg} pooling, as timm's {@code fc_norm=None}.
     *
     * @param fcNorm the flag, or null for timm's default
     * @return this
     */
    public VisionTransformerBuilder optFcNorm(Boolean fcNorm) {
        this.fcNorm = fcNorm;
        return this;
    }

    /**
     * Sets the initial layer scale factor of every block ({@code ls1}, {@code ls2}; timm's {@code
     * init_values}); 0 (default) for no layer scale.
     *
     * @param initValues the initial factor
     * @return this
     */
    public VisionTransformerBuilder optInitValues(float initValues) {
        this.initValues = initValues;
        return this;
    }

    /**
     * Sets the MLP activation (default the erf GELU, {@link Gelu#gelu(NDArray)}; timm's {@code
     * act_layer}).
     *
     * @param activation the activation, e.g. {@link Gelu#geluTanh(NDArray)}
     * @return this
     */
    public VisionTransformerBuilder optActivation(UnaryOperator<NDArray> activation) {
        this.activation = Objects.requireNonNull(activation, "activation");
        return this;
    }

    boolean useFcNorm() {
        return fcNorm == null ? "avg".equals(globalPool) : fcNorm;
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
        if (numClasses < 0) {
            throw new IllegalArgumentException(
                    "number of classes (optNumClasses) must be >= 0 (0: features only), got "
                            + numClasses);
        }
        if (regTokens < 0) {
            throw new IllegalArgumentException(
                    "register tokens (optRegTokens) must be >= 0, got " + regTokens);
        }
        if (!"token".equals(globalPool) && !"avg".equals(globalPool)) {
            throw new IllegalArgumentException(
                    "global pool (optGlobalPool) '"
                            + globalPool
                            + "' is not supported; token and avg are");
        }
        if ("token".equals(globalPool) && !classToken) {
            throw new IllegalArgumentException(
                    "global pool (optGlobalPool) 'token' needs the class token (optClassToken)");
        }
        if (distilled && (!classToken || !"token".equals(globalPool) || useFcNorm())) {
            throw new IllegalArgumentException(
                    "a distilled DeiT (optDistilled) needs the class token, global pool 'token'"
                            + " and no fc_norm, got class token "
                            + classToken
                            + ", global pool '"
                            + globalPool
                            + "'");
        }
        if (!Float.isFinite(initValues)) {
            throw new IllegalArgumentException(
                    "layer scale init values (optInitValues) must be finite, got " + initValues);
        }
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
