package io.github.lbpdjl.zoo.efficientformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.TruncatedNormalInitializer;
import ai.djl.util.PairList;
import io.github.lbpdjl.modules.TokenGrid;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.ndarray.Scalars;
import io.github.lbpdjl.zoo.vit.TimmModel;
import io.github.lbpdjl.zoo.vit.TimmSequential;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * EfficientFormer as timm's {@code EfficientFormer}, built from DJL blocks.
 *
 * <p>Input (B, C_in, H, W) with exactly the configured H and W (224 for timm's variants); output
 * logits (B, numClasses): {@code stem} ({@link Stem}), {@code stages} ({@link EfficientFormerStage}
 * each), the final {@code norm} (LayerNorm over the tokens of the last stage), the mean over the
 * tokens, and the mean of the two classifiers {@code head} and {@code head_dist} (timm's output
 * when not distillation-training; there is one output here in training too).
 *
 * <p>Paths and parameter names are timm's ({@code stem.conv1.weight}, {@code
 * stages.0.blocks.0.mlp.norm1.running_mean}, {@code
 * stages.3.blocks.4.token_mixer.attention_biases}, {@code head_dist.bias}); {@link
 * #timmParameters()} is timm's {@code state_dict} but for its integer buffers ({@code
 * num_batches_tracked}, {@code attention_bias_idxs}). Parameter-free timm modules (activations,
 * dropouts, drop paths, identities, the pool inside {@code token_mixer}) are functions here, except
 * {@link Flat} and {@link Pooling}, which keep their place in the tree.
 *
 * <p>As a {@link TokenGrid} it states the grid of the last stage, which the Linear layers of its
 * Meta3D blocks see as tokens (no prefix token); the classifiers see pooled features.
 *
 * <p>Initialisation (seeded by the engine's random seed) as timm's: Linear weights truncated normal
 * std 0.02 and zero biases; convolution weights uniform in +-1/sqrt(fan_in) (PyTorch's default)
 * with zero biases (PyTorch draws those too); norms ones and zeros, BatchNorm statistics 0 and 1;
 * layer scales 1e-5; attention biases zero.
 */
public class EfficientFormer extends TimmModel implements TokenGrid {

    private final int imageHeight;
    private final int imageWidth;
    private final int inChannels;
    private final int numClasses;
    private final int[] depths;
    private final int[] embedDims;
    private final int numVit;
    private final float layerNormEps;
    private final int gridHeight;
    private final int gridWidth;

    /**
     * Creates the model from a builder.
     *
     * @param b the builder, validated
     */
    protected EfficientFormer(EfficientFormerBuilder b) {
        imageHeight = b.imageHeight;
        imageWidth = b.imageWidth;
        inChannels = b.inChannels;
        numClasses = b.numClasses;
        depths = b.depths.clone();
        embedDims = b.embedDims.clone();
        numVit = b.numVit;
        layerNormEps = b.layerNormEps;
        int h = EfficientFormerBuilder.halve(EfficientFormerBuilder.halve(imageHeight));
        int w = EfficientFormerBuilder.halve(EfficientFormerBuilder.halve(imageWidth));
        int stages = depths.length;
        for (int i = 0; i < stages; i++) {
            if (b.resolvedDownsamples[i]) {
                h = EfficientFormerBuilder.halve(h);
                w = EfficientFormerBuilder.halve(w);
            }
        }
        gridHeight = h;
        gridWidth = w;

        UnaryOperator<NDArray> act = b.activation;
        addTimmChild("stem", new Stem(embedDims[0]));
        List<EfficientFormerStage> stageList = new ArrayList<>();
        for (int i = 0; i < stages; i++) {
            int dim = embedDims[i];
            int hidden = (int) (dim * b.mlpRatio);
            int vit = i == stages - 1 ? numVit : 0;
            int depth = depths[i];
            List<Block> blocks = new ArrayList<>();
            if (vit >= depth) {
                blocks.add(new Flat());
            }
            for (int j = 0; j < depth; j++) {
                int remaining = depth - j - 1;
                if (vit > remaining) {
                    blocks.add(
                            new MetaBlock1d(
                                    dim,
                                    gridHeight,
                                    gridWidth,
                                    hidden,
                                    b.layerScaleInit,
                                    layerNormEps,
                                    act));
                } else {
                    blocks.add(new MetaBlock2d(dim, b.poolSize, hidden, b.layerScaleInit, act));
                    if (vit > 0 && vit == remaining) {
                        blocks.add(new Flat());
                    }
                }
            }
            Downsample down = b.resolvedDownsamples[i] ? new Downsample(dim) : null;
            stageList.add(new EfficientFormerStage(down, blocks));
        }
        addTimmChild("stages", new TimmSequential(stageList));
        addTimmChild("norm", Layers.layerNorm(layerNormEps));
        addTimmChild("head", Linear.builder().setUnits(numClasses).build());
        addTimmChild("head_dist", Linear.builder().setUnits(numClasses).build());
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
    public static EfficientFormerBuilder builder() {
        return new EfficientFormerBuilder();
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
        NDArray stem = forwardChild(0, parameterStore, x, training, params);
        NDArray tokens = forwardChild(1, parameterStore, stem, training, params);
        NDArray normed = forwardChild(2, parameterStore, tokens, training, params);
        NDArray pooled = normed.mean(new int[] {1});
        NDArray logits = forwardChild(3, parameterStore, pooled, training, params);
        NDArray dist = forwardChild(4, parameterStore, pooled, training, params);
        NDArray sum = logits.add(dist);
        NDList y = new NDList(Scalars.mul(sum, 0.5));
        Intermediates.releaseAll(
                new NDList(stem, tokens, normed, pooled, logits, dist, sum), inputs, y);
        return y;
    }

    private void checkInput(Shape s) {
        checkImageInput(s, imageHeight, imageWidth);
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
        Shape[] s = inputShapes;
        child(0).initialize(manager, dataType, s);
        s = child(0).getOutputShapes(s);
        child(1).initialize(manager, dataType, s);
        s = child(1).getOutputShapes(s);
        Shape tokens = new Shape(b, (long) gridHeight * gridWidth, getNumFeatures());
        if (!s[0].equals(tokens)) {
            throw new IllegalStateException("stages give " + s[0] + ", expected " + tokens);
        }
        child(2).initialize(manager, dataType, tokens);
        child(3).initialize(manager, dataType, new Shape(b, getNumFeatures()));
        child(4).initialize(manager, dataType, new Shape(b, getNumFeatures()));
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
     * Returns the number of prefix tokens: none.
     *
     * @return 0
     */
    @Override
    public int getNumPrefixTokens() {
        return 0;
    }

    /**
     * Returns the token grid of the last stage, which its Meta3D blocks and their attention biases
     * are for (7x7 for 224x224 input and four stages).
     *
     * @return {h, w}
     */
    @Override
    public int[] getGridSize() {
        return new int[] {gridHeight, gridWidth};
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
     * @return the number of input channels
     */
    @Override
    public int getInChannels() {
        return inChannels;
    }

    /**
     * @return the number of classes of each classifier
     */
    @Override
    public int getNumClasses() {
        return numClasses;
    }

    /**
     * @return the blocks per stage (a copy)
     */
    public int[] getDepths() {
        return depths.clone();
    }

    /**
     * @return the width of each stage (a copy)
     */
    public int[] getEmbedDims() {
        return embedDims.clone();
    }

    /**
     * @return the number of Meta3D blocks at the end of the last stage
     */
    public int getNumVit() {
        return numVit;
    }

    /**
     * @return the width of the last stage, which the classifiers see
     */
    public int getNumFeatures() {
        return embedDims[embedDims.length - 1];
    }

    /**
     * @return the LayerNorm epsilon
     */
    public float getLayerNormEps() {
        return layerNormEps;
    }
}
