package io.github.lbpdjl.zoo;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import io.github.lbpdjl.zoo.vit.VisionTransformerBuilder;
import java.io.IOException;
import java.util.Map;

/**
 * Loads one {@link VitVariant} through DJL's Criteria (the arguments: {@link TimmModelLoader}).
 * Safetensors weights may have timm or Hugging Face names ({@link VitWeights}); {@code
 * vit_micro_patch4_32} ships MNIST weights ({@code optFilter("dataset", "mnist")}). The block is a
 * {@link VisionTransformer}: {@code (VisionTransformer) model.getBlock()} gives the timm paths and
 * the token layout.
 *
 * <p>The configuration: the variant's sizes, or those of a checkpoint folder's {@code config.json}
 * (timm's {@code architecture} and {@code model_args}, or transformers' sizes, epsilon and
 * activation); the timm features the safetensors tensors show (distillation token and head,
 * register tokens, layer scale, {@code fc_norm} with average pooling, no class token, position
 * embeddings for the patches only, the head's size; a checkpoint without a head gives a model of 0
 * classes, its features, with a warning, unless {@code numClasses} is given); then the arguments
 * {@code numClasses}, {@code inChannels}, {@code imageSize} (position embeddings are resampled to
 * it as timm does), {@code patchSize}, {@code globalPool} ({@code token}, {@code avg}), {@code
 * regTokens}, {@code noEmbedClass}, {@code initValues}, {@code distilled}, {@code classToken},
 * {@code layerNormEps}. A bad value is a {@code MalformedModelException} naming the arguments.
 */
public class VitModelLoader extends TimmModelLoader {

    private final VitVariant variant;

    /**
     * Creates the loader of a variant.
     *
     * @param variant the variant
     */
    public VitModelLoader(VitVariant variant) {
        super(variant.getName());
        this.variant = variant;
    }

    /**
     * @return the variant this loader builds
     */
    public VitVariant getVariant() {
        return variant;
    }

    /** {@inheritDoc} */
    @Override
    public Preprocessing getPreprocessing() {
        return variant.getPreprocessing();
    }

    /** {@inheritDoc} */
    @Override
    protected Block newBlock(Map<String, Object> arguments) {
        VisionTransformerBuilder builder = variant.builder();
        Integer numClasses = intArgument(arguments, ARG_NUM_CLASSES);
        if (numClasses != null) {
            builder.optNumClasses(numClasses);
        }
        Integer inChannels = intArgument(arguments, ARG_IN_CHANNELS);
        if (inChannels != null) {
            builder.optInChannels(inChannels);
        }
        return builder.build();
    }

    /**
     * The configuration from the artifact, the checkpoint and the arguments ({@link VitConfigs}).
     */
    @Override
    Block newBlock(Map<String, Object> arguments, HubCheckpoint checkpoint) {
        return VitConfigs.builder(variant, checkpoint, arguments).build();
    }

    /** {@inheritDoc} */
    @Override
    protected void initialize(Block block, NDManager manager) {
        ((VisionTransformer) block).initialize(manager);
    }

    /** {@inheritDoc} */
    @Override
    protected ImportResult loadSafetensors(Block block, SafetensorsFile file) throws IOException {
        return VitWeights.load((VisionTransformer) block, file);
    }

    /** {@inheritDoc} */
    @Override
    protected Map<String, String> shippedWeights() {
        return variant == VitVariant.VIT_MICRO_PATCH4_32
                ? Map.of("mnist", "vit_micro_patch4_32-mnist.safetensors")
                : Map.of();
    }
}
