package io.github.lbpdjl.zoo;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.zoo.swin.SwinTransformerV2;
import io.github.lbpdjl.zoo.swin.SwinTransformerV2Builder;
import java.io.IOException;
import java.util.Map;

/**
 * Loads one {@link SwinV2Variant} through DJL's Criteria (the arguments: {@link TimmModelLoader}).
 * Safetensors weights have timm's names ({@link SwinV2Weights}), e.g. the {@code model.safetensors}
 * of Hugging Face's {@code timm/swinv2_tiny_window8_256.ms_in1k}; no weights are shipped. The block
 * is a {@link SwinTransformerV2}: {@code (SwinTransformerV2) model.getBlock()} gives the timm paths
 * and each layer's token grid.
 */
public class SwinV2ModelLoader extends TimmModelLoader {

    private final SwinV2Variant variant;

    /**
     * Creates the loader of a variant.
     *
     * @param variant the variant
     */
    public SwinV2ModelLoader(SwinV2Variant variant) {
        super(variant.getName());
        this.variant = variant;
    }

    /**
     * @return the variant this loader builds
     */
    public SwinV2Variant getVariant() {
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
        SwinTransformerV2Builder builder = variant.builder();
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

    /** {@inheritDoc} */
    @Override
    protected void initialize(Block block, NDManager manager) {
        ((SwinTransformerV2) block).initialize(manager);
    }

    /** {@inheritDoc} */
    @Override
    protected ImportResult loadSafetensors(Block block, SafetensorsFile file) throws IOException {
        return SwinV2Weights.load((SwinTransformerV2) block, file);
    }
}
