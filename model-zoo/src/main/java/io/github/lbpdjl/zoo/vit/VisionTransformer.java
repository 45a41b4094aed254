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
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.training.initializer.TruncatedNormalInitializer;
import ai.djl.util.PairList;
import io.github.lbpdjl.modules.TokenGrid;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.ndarray.Scalars;
import java.util.ArrayList;
import java.util.List;

/**
 * A Vision Transformer (ViT / DeiT) as timm's {@code VisionTransformer} (and {@code
 * VisionTransformerDistilled}), built from DJL blocks.
 *
 * <p>Input (B, C_in, H, W) with exactly the configured H and W; output logits (B, numClasses), or
 * the pooled features (B, C) for 0 classes. Children and parameters follow timm names: {@code
 * cls_token}, {@code dist_token}, {@code reg_token}, {@code pos_embed}, {@code patch_embed.proj},
 * {@code blocks.i.norm1}, {@code blocks.i.attn.qkv}, {@code blocks.i.attn.proj}, {@code
 * blocks.i.ls1.gamma}, {@code blocks.i.norm2}, {@code blocks.i.mlp.fc1}, {@code blocks.i.mlp.fc2},
 * {@code blocks.i.ls2.gamma}, {@code norm} or {@code fc_norm}, {@code head}, {@code head_dist}
 * (those a configuration has). Use {@link #namedModules()} / {@link #timmParameters()} to address
 * them and {@link #replaceModule(String, Block)} (or {@link TimmBlock#replaceChild(String, Block)}
 * on a parent) to swap a Linear for a subclass or any block with the same input and output.
 *
 * <p>The sequence is the prefix tokens (class token, distillation token, registers, in timm's
 * order) then the (H/p) x (W/p) patches; position embeddings cover all of them, or with {@code
 * no_embed_class} only the patches. Pooling: the class token, or the mean of the patch tokens
 * ({@code avg}, with the final LayerNorm after it, {@code fc_norm}); a distilled DeiT averages its
 * two heads, as timm does in inference and (without {@code set_distilled_training}) in training. As
 * a {@link TokenGrid} it states that layout; tuners derive their token layout from it.
 *
 * <p>Initialisation (DJL initializers, seeded by the engine's random seed): Linear weights
 * truncated normal std 0.02 and zero biases, {@code pos_embed} and {@code dist_token} truncated
 * normal std 0.02, {@code cls_token} and {@code reg_token} normal std 1e-6, LayerNorm ones/zeros,
 * layer scale {@code init_values}, the patch Conv2d DJL's default Xavier.
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
    private final boolean distilled;
    private final int regTokens;
    private final boolean noEmbedClass;
    private final boolean avgPool;
    private final boolean fcNorm;
    private final float initValues;

    private final Parameter clsToken;
    private final Parameter distToken;
    private final Parameter regToken;
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
        distilled = b.distilled;
        regTokens = b.regTokens;
        noEmbedClass = b.noEmbedClass;
        avgPool = "avg".equals(b.globalPool);
        fcNorm = b.useFcNorm();
        initValues = b.initValues;

        clsToken =
                b.classToken
                        ? addParameter(token("cls_token", 1, new NormalInitializer(1e-6f)))
                        : null;
        distToken =
                distilled
                        ? addParameter(
                                token("dist_token", 1, new TruncatedNormalInitializer(0.02f)))
                        : null;
        regToken =
                regTokens > 0
                        ? addParameter(token("reg_token", regTokens, new NormalInitializer(1e-6f)))
                        : null;
        int embedded = noEmbedClass ? gridTokens() : gridTokens() + getNumPrefixTokens();
        posEmbed =
                addParameter(token("pos_embed", embedded, new TruncatedNormalInitializer(0.02f)));
        addTimmChild("patch_embed", new PatchEmbed(patchSize, embedDim));
        List<VitBlock> blocks = new ArrayList<>();
        for (int i = 0; i < depth; i++) {
            blocks.add(
                    new VitBlock(
                            embedDim,
                            numHeads,
                            mlpHidden,
                            b.qkvBias,
                            layerNormEps,
                            initValues,
                            b.activation));
        }
        addTimmChild("blocks", new TimmSequential(blocks));
        if (fcNorm) {
            // after pooling: (B, C), normalised over axis 1
            addTimmChild("fc_norm", LayerNorm.builder().axis(1).optEpsilon(layerNormEps).build());
        } else {
            addTimmChild("norm", VitBlock.layerNorm(layerNormEps));
        }
        if (numClasses > 0) {
            addTimmChild("head", Linear.builder().setUnits(numClasses).build());
            if (distilled) {
                addTimmChild("head_dist", Linear.builder().setUnits(numClasses).build());
            }
        }
        for (Block m : namedModules().values()) {
            if (m instanceof Linear) {
                m.setInitializer(new TruncatedNormalInitializer(0.02f), Parameter.Type.WEIGHT);
            }
        }
    }

    private Parameter token(String name, int count, Initializer init) {
        return Parameter.builder()
                .setName(name)
                .setType(Parameter.Type.OTHER)
                .optShape(new Shape(1, count, embedDim))
                .optInitializer(init)
                .build();
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
        NDList temps = new NDList();
        NDArray patches = forwardChild(0, parameterStore, x, training, params);
        temps.add(patches);
        NDArray pos = parameterStore.getValue(posEmbed, device, training);
        if (noEmbedClass) {
            patches = patches.add(pos);
            temps.add(patches);
        }
        NDList parts = new NDList();
        for (Parameter p : new Parameter[] {clsToken, distToken, regToken}) {
            if (p == null) {
                continue;
            }
            NDArray value = parameterStore.getValue(p, device, training);
            // start from an array of the input's manager: results of an op belong to the manager
            // of its first operand, and the parameters belong to the model's (never closed early)
            NDArray zeros =
                    patches.getManager()
                            .zeros(
                                    new Shape(batch, value.getShape().get(1), embedDim),
                                    value.getDataType(),
                                    device);
            NDArray rows = zeros.add(value);
            temps.add(zeros);
            temps.add(rows);
            parts.add(rows);
        }
        parts.add(patches);
        NDArray tokens = parts.size() == 1 ? patches : NDArrays.concat(parts, 1);
        if (!noEmbedClass) {
            temps.add(tokens);
            tokens = tokens.add(pos);
        }
        temps.add(tokens);
        NDArray encoded = forwardChild(1, parameterStore, tokens, training, params);
        temps.add(encoded);
        // timm: norm before pooling, or fc_norm after it; pooling by the class token or the mean
        NDArray feats =
                fcNorm ? encoded : forwardChild(2, parameterStore, encoded, training, params);
        temps.add(feats);
        NDArray pooled;
        if (avgPool) {
            NDArray grid = feats.get(":, " + getNumPrefixTokens() + ":, :");
            temps.add(grid);
            pooled = grid.mean(new int[] {1});
        } else {
            pooled = feats.get(":, 0, :");
        }
        NDArray distPooled = distilled ? feats.get(":, 1, :") : null;
        if (distilled) {
            temps.add(distPooled);
        }
        if (fcNorm) {
            temps.add(pooled);
            pooled = forwardChild(2, parameterStore, pooled, training, params);
        }
        temps.add(pooled);
        NDArray out = pooled;
        if (numClasses > 0) {
            out = forwardChild(3, parameterStore, pooled, training, params);
            if (distilled) {
                temps.add(out);
                distPooled = forwardChild(4, parameterStore, distPooled, training, params);
                temps.add(distPooled);
            }
        }
        if (distilled) {
            NDArray sum = out.add(distPooled);
            temps.add(sum);
            out = Scalars.mul(sum, 0.5);
        }
        NDList result = new NDList(out);
        Intermediates.releaseAll(temps, inputs, result);
        return result;
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
        return new Shape[] {
            new Shape(inputShapes[0].get(0), numClasses > 0 ? numClasses : embedDim)
        };
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        checkInput(inputShapes[0]);
        long b = inputShapes[0].get(0);
        Shape tokens = new Shape(b, tokenCount(), embedDim);
        Shape patches = new Shape(b, gridTokens(), embedDim);
        child(0).initialize(manager, dataType, inputShapes);
        if (!child(0).getOutputShapes(inputShapes)[0].equals(patches)) {
            throw new IllegalStateException("patch_embed gives an unexpected shape");
        }
        child(1).initialize(manager, dataType, tokens);
        child(2).initialize(manager, dataType, fcNorm ? new Shape(b, embedDim) : tokens);
        for (int i = 3; i < getChildNames().size(); i++) {
            child(i).initialize(manager, dataType, new Shape(b, embedDim));
        }
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
     * Returns the number of prefix tokens: the class token, the distillation token and the
     * registers that the model has.
     *
     * @return timm's {@code num_prefix_tokens}
     */
    @Override
    public int getNumPrefixTokens() {
        return (clsToken != null ? 1 : 0) + (distilled ? 1 : 0) + regTokens;
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

    /** The prefix tokens and the patch grid: the encoder's sequence length. */
    private long tokenCount() {
        return getNumPrefixTokens() + (long) gridTokens();
    }

    private int gridTokens() {
        return (imageHeight / patchSize) * (imageWidth / patchSize);
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

    /**
     * @return whether the model has a class token
     */
    public boolean hasClassToken() {
        return clsToken != null;
    }

    /**
     * @return whether this is a distilled DeiT ({@code dist_token}, {@code head_dist})
     */
    public boolean isDistilled() {
        return distilled;
    }

    /**
     * @return the number of register tokens
     */
    public int getRegTokens() {
        return regTokens;
    }

    /**
     * @return whether the position embeddings cover only the patches (timm's {@code
     *     no_embed_class})
     */
    public boolean isNoEmbedClass() {
        return noEmbedClass;
    }

    /**
     * @return the pooling: "token" or "avg"
     */
    public String getGlobalPool() {
        return avgPool ? "avg" : "token";
    }

    /**
     * @return whether the final LayerNorm follows the pooling ({@code fc_norm})
     */
    public boolean hasFcNorm() {
        return fcNorm;
    }

    /**
     * @return the initial layer scale factor, 0 without layer scale
     */
    public float getInitValues() {
        return initValues;
    }
}
