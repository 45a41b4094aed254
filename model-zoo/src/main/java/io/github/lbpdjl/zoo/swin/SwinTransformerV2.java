package io.github.lbpdjl.zoo.swin;

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
import io.github.lbpdjl.modules.LayerGrids;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.zoo.vit.TimmModel;
import io.github.lbpdjl.zoo.vit.TimmSequential;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Swin Transformer V2 as timm's {@code SwinTransformerV2}, built from DJL blocks.
 *
 * <p>Input (B, C_in, H, W) with exactly the configured H and W (256 for timm's variants); output
 * logits (B, numClasses): {@code patch_embed} ({@link SwinPatchEmbed}, NHWC from here on), {@code
 * layers} ({@link SwinStage} each: {@link PatchMerging} from the second on, then {@link SwinBlock}s
 * with {@link WindowAttention}), the final {@code norm} and {@code head} ({@link ClassifierHead}:
 * average pool, {@code fc}).
 *
 * <p>Paths and parameter names are timm's ({@code patch_embed.proj.weight}, {@code
 * layers.1.downsample.reduction.weight}, {@code layers.0.blocks.1.attn.cpb_mlp.2.weight}, {@code
 * layers.2.blocks.0.attn.logit_scale}, {@code head.fc.bias}); {@link #timmParameters()} is timm's
 * {@code state_dict}, whose buffers are all non-persistent and computed here.
 *
 * <p>As {@link LayerGrids} it states the token grid every Linear layer of the blocks and mergings
 * sees, from which tuners derive each layer's layout (LBP-WHT's {@code LbpRewriter}): a window for
 * the attention's {@code qkv} and {@code proj}, the stage's map for the MLP's {@code fc1} and
 * {@code fc2}, the merged map for a {@code reduction}.
 *
 * <p>Initialisation (seeded by the engine's random seed) as timm's: Linear weights truncated normal
 * std 0.02 and zero biases (the {@code cpb_mlp} too); the patch convolution uniform in
 * +-1/sqrt(fan_in) with a zero bias; LayerNorms ones and zeros except the blocks' post-norms, whose
 * weights start at zero; {@code logit_scale} log 10; {@code q_bias}, {@code v_bias} zero.
 */
public class SwinTransformerV2 extends TimmModel implements LayerGrids {

    private final int imageHeight;
    private final int imageWidth;
    private final int inChannels;
    private final int numClasses;
    private final int patchSize;
    private final int embedDim;
    private final int[] depths;
    private final int[] numHeads;
    private final int windowSize;
    private final float layerNormEps;
    private final Map<String, int[]> layerGrids = new LinkedHashMap<>();

    /**
     * Creates the model from a builder.
     *
     * @param b the builder, validated
     */
    protected SwinTransformerV2(SwinTransformerV2Builder b) {
        imageHeight = b.imageHeight;
        imageWidth = b.imageWidth;
        inChannels = b.inChannels;
        numClasses = b.numClasses;
        patchSize = b.patchSize;
        embedDim = b.embedDim;
        depths = b.depths.clone();
        numHeads = b.numHeads.clone();
        windowSize = b.windowSize;
        layerNormEps = b.layerNormEps;

        addTimmChild("patch_embed", new SwinPatchEmbed(patchSize, embedDim, layerNormEps));
        int h = imageHeight / patchSize;
        int w = imageWidth / patchSize;
        List<SwinStage> stages = new ArrayList<>();
        for (int i = 0; i < depths.length; i++) {
            int dim = embedDim << i;
            String stage = "layers." + i;
            PatchMerging merging = null;
            if (i > 0) {
                merging = new PatchMerging(dim / 2, dim, layerNormEps);
                h /= 2;
                w /= 2;
                layerGrids.put(stage + ".downsample.reduction", new int[] {h, w});
            }
            int[] window = {Math.min(h, windowSize), Math.min(w, windowSize)};
            int[] shift = {
                h <= windowSize ? 0 : windowSize / 2, w <= windowSize ? 0 : windowSize / 2
            };
            List<SwinBlock> blocks = new ArrayList<>();
            for (int j = 0; j < depths[i]; j++) {
                int[] s = j % 2 == 0 ? new int[] {0, 0} : shift;
                blocks.add(
                        new SwinBlock(
                                dim,
                                numHeads[i],
                                new int[] {h, w},
                                window,
                                s,
                                (int) (dim * b.mlpRatio),
                                layerNormEps,
                                b.activation));
                String block = stage + ".blocks." + j;
                layerGrids.put(block + ".attn.qkv", window.clone());
                layerGrids.put(block + ".attn.proj", window.clone());
                layerGrids.put(block + ".mlp.fc1", new int[] {h, w});
                layerGrids.put(block + ".mlp.fc2", new int[] {h, w});
            }
            stages.add(new SwinStage(merging, blocks));
        }
        addTimmChild("layers", new TimmSequential(stages));
        addTimmChild("norm", SwinOps.layerNorm(4, layerNormEps));
        addTimmChild("head", new ClassifierHead(numClasses));
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
    public static SwinTransformerV2Builder builder() {
        return new SwinTransformerV2Builder();
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
        NDArray embedded = forwardChild(0, parameterStore, x, training, params);
        NDArray features = forwardChild(1, parameterStore, embedded, training, params);
        NDArray normed = forwardChild(2, parameterStore, features, training, params);
        NDList y = child(3).forward(parameterStore, new NDList(normed), training, params);
        Intermediates.releaseAll(new NDList(embedded, features, normed), inputs, y);
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
        Shape[] s = inputShapes;
        for (int i = 0; i < 4; i++) {
            child(i).initialize(manager, dataType, s);
            s = child(i).getOutputShapes(s);
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
     * The token grid each Linear layer of the blocks and patch mergings sees, by timm path: {@code
     * layers.i.blocks.j.attn.qkv} and {@code .attn.proj} a window {wh, ww} (their input is (B *
     * windows, wh ww, C)), {@code .mlp.fc1} and {@code .mlp.fc2} the stage's map {H, W} (input (B,
     * H W, C)), {@code layers.i.downsample.reduction} the merged map (input (B, H W, 4C)); tokens
     * row-major, no prefix tokens. The {@code cpb_mlp} layers and the head see no token grid and
     * are not listed.
     *
     * @return an unmodifiable ordered map path -> {height, width} (copies)
     */
    @Override
    public Map<String, int[]> getLayerGrids() {
        Map<String, int[]> out = new LinkedHashMap<>();
        layerGrids.forEach((k, v) -> out.put(k, v.clone()));
        return Collections.unmodifiableMap(out);
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
     * @return the number of input channels
     */
    @Override
    public int getInChannels() {
        return inChannels;
    }

    /**
     * @return the number of classes of the head
     */
    @Override
    public int getNumClasses() {
        return numClasses;
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
     * @return the patch side
     */
    public int getPatchSize() {
        return patchSize;
    }

    /**
     * @return the width of the first stage
     */
    public int getEmbedDim() {
        return embedDim;
    }

    /**
     * @return the blocks per stage (a copy)
     */
    public int[] getDepths() {
        return depths.clone();
    }

    /**
     * @return the heads per stage (a copy)
     */
    public int[] getNumHeads() {
        return numHeads.clone();
    }

    /**
     * @return the configured window side (before clipping to small maps)
     */
    public int getWindowSize() {
        return windowSize;
    }

    /**
     * @return the width of the last stage, which the head sees
     */
    public int getNumFeatures() {
        return embedDim << (depths.length - 1);
    }

    /**
     * @return the LayerNorm epsilon
     */
    public float getLayerNormEps() {
        return layerNormEps;
    }
}
