package io.github.lbpdjl.zoo.vit;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.training.initializer.TruncatedNormalInitializer;
import ai.djl.util.PairList;
import io.github.lbpdjl.modules.TokenGrid;
import io.github.lbpdjl.ndarray.Intermediates;
import java.util.ArrayList;
import java.util.List;

/**
 * A Vision Transformer (ViT / DeiT) as timm's {@code VisionTransformer} with class-token pooling,
 * built from DJL blocks.
 *
 * <p>Input (B, C_in, H, W) with exactly the configured H and W; output logits (B, numClasses).
 * Children and parameters follow timm names: {@code cls_token}, {@code pos_embed}, {@code
 * patch_embed.proj}, {@code blocks.i.norm1}, {@code blocks.i.attn.qkv}, {@code blocks.i.attn.proj},
 * {@code blocks.i.norm2}, {@code blocks.i.mlp.fc1}, {@code blocks.i.mlp.fc2}, {@code norm}, {@code
 * head}. Use {@link #namedModules()} / {@link #timmParameters()} to address them and {@link
 * #replaceModule(String, Block)} (or {@link TimmBlock#replaceChild(String, Block)} on a parent) to
 * swap a Linear for a subclass or any block with the same input and output.
 *
 * <p>As a {@link TokenGrid} it states its token grid, one class token before the (H/p) x (W/p)
 * patches; tuners derive their token layout from that.
 *
 * <p>Initialisation (DJL initializers, seeded by the engine's random seed): Linear weights
 * truncated normal std 0.02 and zero biases, {@code pos_embed} truncated normal std 0.02, {@code
 * cls_token} normal std 1e-6, LayerNorm ones/zeros, the patch Conv2d DJL's default Xavier.
 */
public class VisionTransformer extends TimmModel implements TokenGrid {

    private final int imageHeight;
    private final int imageWidth;
    private final int patchSize;
    private final int embedDim;
    private final int depth;
    private final int numHeads;
    private final int mlpHidden;
    private final int numClasses;
    private final int inChannels;
    private final float layerNormEps;

    private final Parameter clsToken;
    private final Parameter posEmbed;

    /**
     * Creates the model from a builder.
     *
     * @param b the builder
     */
    protected VisionTransformer(VisionTransformerBuilder b) {
        imageHeight = b.imageHeight;
        imageWidth = b.imageWidth;
        patchSize = b.patchSize;
        embedDim = b.embedDim;
        depth = b.depth;
        numHeads = b.numHeads;
        mlpHidden = b.mlpHidden();
        numClasses = b.numClasses;
        inChannels = b.inChannels;
        layerNormEps = b.layerNormEps;

        clsToken =
                addParameter(
                        Parameter.builder()
                                .setName("cls_token")
                                .setType(Parameter.Type.OTHER)
                                .optShape(new Shape(1, 1, embedDim))
                                .optInitializer(new NormalInitializer(1e-6f))
                                .build());
        posEmbed =
                addParameter(
                        Parameter.builder()
                                .setName("pos_embed")
                                .setType(Parameter.Type.OTHER)
                                .optShape(new Shape(1, tokenCount(), embedDim))
                                .optInitializer(new TruncatedNormalInitializer(0.02f))
                                .build());
        addTimmChild("patch_embed", new PatchEmbed(patchSize, embedDim));
        List<VitBlock> blocks = new ArrayList<>();
        for (int i = 0; i < depth; i++) {
            blocks.add(new VitBlock(embedDim, numHeads, mlpHidden, b.qkvBias, layerNormEps));
        }
        addTimmChild("blocks", new TimmSequential(blocks));
        addTimmChild("norm", VitBlock.layerNorm(layerNormEps));
        addTimmChild("head", Linear.builder().setUnits(numClasses).build());
        for (Block m : namedModules().values()) {
            if (m instanceof Linear) {
                m.setInitializer(new TruncatedNormalInitializer(0.02f), Parameter.Type.WEIGHT);
            }
        }
    }

    /**
     * Creates a builder.
     *
     * @return a new builder
     */
    public static VisionTransformerBuilder builder() {
        return new VisionTransformerBuilder();
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        checkInput(x.getShape());
        long batch = x.getShape().get(0);
        Device device = x.getDevice();
        NDArray patches = forwardChild(0, parameterStore, x, training, params);
        NDArray cls = parameterStore.getValue(clsToken, device, training);
        NDArray pos = parameterStore.getValue(posEmbed, device, training);
        // start from an array of the input's manager: results of an op belong to the manager of
        // its first operand, and the parameters belong to the model's (which never closes early)
        NDArray zeros =
                patches.getManager()
                        .zeros(new Shape(batch, 1, embedDim), cls.getDataType(), device);
        NDArray clsRows = zeros.add(cls);
        NDArray joined = NDArrays.concat(new NDList(clsRows, patches), 1);
        NDArray tokens = joined.add(pos);
        NDArray encoded = forwardChild(1, parameterStore, tokens, training, params);
        NDArray normed = forwardChild(2, parameterStore, encoded, training, params);
        NDArray pooled = normed.get(":, 0, :");
        NDList logits = child(3).forward(parameterStore, new NDList(pooled), training, params);
        Intermediates.releaseAll(
                new NDList(patches, zeros, clsRows, joined, tokens, encoded, normed, pooled),
                inputs,
                logits);
        return logits;
    }

    private void checkInput(Shape s) {
        if (s.dimension() != 4
                || s.get(1) != inChannels
                || s.get(2) != imageHeight
                || s.get(3) != imageWidth) {
            throw new IllegalArgumentException(
                    "VisionTransformer expects input (B, "
                            + inChannels
                            + ", "
                            + imageHeight
                            + ", "
                            + imageWidth
                            + "), got "
                            + s);
        }
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        checkInput(inputShapes[0]);
        return new Shape[] {new Shape(inputShapes[0].get(0), numClasses)};
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        checkInput(inputShapes[0]);
        long b = inputShapes[0].get(0);
        Shape tokens = new Shape(b, tokenCount(), embedDim);
        Shape patches = new Shape(b, tokenCount() - 1L, embedDim);
        child(0).initialize(manager, dataType, inputShapes);
        if (!child(0).getOutputShapes(inputShapes)[0].equals(patches)) {
            throw new IllegalStateException("patch_embed gives an unexpected shape");
        }
        child(1).initialize(manager, dataType, tokens);
        child(2).initialize(manager, dataType, tokens);
        child(3).initialize(manager, dataType, new Shape(b, embedDim));
    }

    /**
     * Initialises every parameter for input (1, C_in, H, W) with the given manager.
     *
     * @param manager the manager that will own the parameters (usually the model's)
     */
    public void initialize(NDManager manager) {
        initialize(manager, DataType.FLOAT32, getInputShape(1));
    }

    /**
     * Returns the number of prefix tokens: one, the class token.
     *
     * @return 1
     */
    @Override
    public int getNumPrefixTokens() {
        return 1;
    }

    /**
     * Returns the patch grid the encoder sees after the class token.
     *
     * @return {H / p, W / p}
     */
    @Override
    public int[] getGridSize() {
        return new int[] {imageHeight / patchSize, imageWidth / patchSize};
    }

    /** The class token and the patch grid: the encoder's sequence length. */
    private long tokenCount() {
        return 1 + (long) (imageHeight / patchSize) * (imageWidth / patchSize);
    }

    /**
     * The input shape for a batch size.
     *
     * @param batchSize the batch size
     * @return (batchSize, C_in, H, W)
     */
    @Override
    public Shape getInputShape(long batchSize) {
        return new Shape(batchSize, inChannels, imageHeight, imageWidth);
    }

    /**
     * @return the image height H
     */
    public int getImageHeight() {
        return imageHeight;
    }

    /**
     * @return the image width W
     */
    public int getImageWidth() {
        return imageWidth;
    }

    /**
     * @return the patch side p
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
     * @return the number of encoder blocks
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
     * @return the hidden width of each MLP
     */
    public int getMlpHiddenDim() {
        return mlpHidden;
    }

    /**
     * @return the number of classes of the head
     */
    @Override
    public int getNumClasses() {
        return numClasses;
    }

    /**
     * @return the number of input channels
     */
    @Override
    public int getInChannels() {
        return inChannels;
    }

    /**
     * @return the LayerNorm epsilon
     */
    public float getLayerNormEps() {
        return layerNormEps;
    }
}
