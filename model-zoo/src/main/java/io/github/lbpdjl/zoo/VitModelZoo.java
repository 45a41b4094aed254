package io.github.lbpdjl.zoo;

import ai.djl.repository.zoo.ModelZoo;
import java.util.Set;

/**
 * The lbp-djl model zoo, one group for every family: a {@link VitModelLoader} per {@link
 * VitVariant} and an {@link EfficientFormerModelLoader} per {@link EfficientFormerVariant},
 * artifact ids as the timm names ({@code vit_tiny_patch16_224}, ..., {@code vit_micro_patch4_32},
 * {@code efficientformer_l1}, ...), and a {@link SwinV2ModelLoader} per {@link SwinV2Variant}.
 * Registered through {@link VitZooProvider} (DJL keeps one zoo per group id, so a new family adds
 * its loaders here); see {@link TimmModelLoader} for the Criteria arguments.
 */
public class VitModelZoo extends ModelZoo {

    /** The group id of this zoo. */
    public static final String GROUP_ID = "io.github.lbpdjl.zoo";

    private static final Set<String> ENGINES = Set.of("PyTorch", "MXNet");

    /** Creates the zoo with every variant of every family. */
    public VitModelZoo() {
        for (VitVariant v : VitVariant.values()) {
            addModel(new VitModelLoader(v));
        }
        for (EfficientFormerVariant v : EfficientFormerVariant.values()) {
            addModel(new EfficientFormerModelLoader(v));
        }
        for (SwinV2Variant v : SwinV2Variant.values()) {
            addModel(new SwinV2ModelLoader(v));
        }
    }

    /** {@inheritDoc} */
    @Override
    public String getGroupId() {
        return GROUP_ID;
    }

    /** {@inheritDoc} */
    @Override
    public Set<String> getSupportedEngines() {
        return ENGINES;
    }
}
