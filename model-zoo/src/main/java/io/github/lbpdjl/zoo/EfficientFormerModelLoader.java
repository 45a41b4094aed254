package io.github.lbpdjl.zoo;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.zoo.efficientformer.EfficientFormer;
import io.github.lbpdjl.zoo.efficientformer.EfficientFormerBuilder;
import java.io.IOException;
import java.util.Map;

/**
 * Loads one {@link EfficientFormerVariant} through DJL's Criteria (the arguments: {@link
 * TimmModelLoader}). Safetensors weights have timm's names ({@link EfficientFormerWeights}), e.g.
 * the {@code model.safetensors} of Hugging Face's {@code timm/efficientformer_l1.snap_dist_in1k};
 * no weights are shipped. The block is an {@link EfficientFormer}: {@code (EfficientFormer)
 * model.getBlock()} gives the timm paths and the token grid.
 */
public class EfficientFormerModelLoader extends TimmModelLoader {

    private final EfficientFormerVariant variant;

    /**
     * Creates the loader of a variant.
     *
     * @param variant the variant
     */
    public EfficientFormerModelLoader(EfficientFormerVariant variant) {
        super(variant.getName());
        this.variant = variant;
    }

    /**
     * @return the variant this loader builds
     */
    public EfficientFormerVariant getVariant() {
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
        EfficientFormerBuilder builder = variant.builder();
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
        ((EfficientFormer) block).initialize(manager);
    }

    /** {@inheritDoc} */
    @Override
    protected ImportResult loadSafetensors(Block block, SafetensorsFile file) throws IOException {
        return EfficientFormerWeights.load((EfficientFormer) block, file);
    }
}
