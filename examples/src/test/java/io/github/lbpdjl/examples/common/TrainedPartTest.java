package io.github.lbpdjl.examples.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.zoo.vit.TimmModel;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The trained part's paths on the zoo's own module names, ViT blocks and EfficientFormer stages.
 */
class TrainedPartTest {

    private static List<String> tokenwise(String model, String setting) {
        TimmModel net = TrainedPart.build(model);
        TargetModules t = TrainedPart.of(model, setting).tokenwiseLayers();
        return net.namedModules().keySet().stream().filter(t::matches).toList();
    }

    @Test
    void efficientFormersLastStageIsItsConvolutionMlpsAndTheMeta3dLinears() {
        List<String> expected =
                List.of(
                        "stages.3.blocks.0.mlp.fc1",
                        "stages.3.blocks.0.mlp.fc2",
                        "stages.3.blocks.1.mlp.fc1",
                        "stages.3.blocks.1.mlp.fc2",
                        "stages.3.blocks.2.mlp.fc1",
                        "stages.3.blocks.2.mlp.fc2",
                        "stages.3.blocks.4.token_mixer.qkv",
                        "stages.3.blocks.4.token_mixer.proj",
                        "stages.3.blocks.4.mlp.fc1",
                        "stages.3.blocks.4.mlp.fc2");
        assertEquals(expected, tokenwise("efficientformer_l1", "1"));
        // L1's depths are 3, 2, 6, 4: every stage's MLPs, and the one Meta3D block
        assertEquals(2 * (3 + 2 + 6 + 3) + 4, tokenwise("efficientformer_l1", "all").size());
    }

    /** LoRA adapts the Linears; the 1x1-convolution MLPs are excluded by path (PEFT-readable). */
    @Test
    void loraExcludesTheConvolutionMlps() {
        TimmModel net = TrainedPart.build("efficientformer_l1");
        TargetModules ex = TrainedPart.of("efficientformer_l1", "1").loraExclusions(net);
        assertEquals(
                List.of(
                        "stages.3.blocks.0.mlp.fc1",
                        "stages.3.blocks.0.mlp.fc2",
                        "stages.3.blocks.1.mlp.fc1",
                        "stages.3.blocks.1.mlp.fc2",
                        "stages.3.blocks.2.mlp.fc1",
                        "stages.3.blocks.2.mlp.fc2"),
                ex.getPatterns());
        TimmModel vit = TrainedPart.build("vit_micro_patch4_32");
        assertEquals(null, TrainedPart.of("vit_micro_patch4_32", "all").loraExclusions(vit));
    }

    @Test
    void vitsLastBlocksAreTheirFourLinears() {
        List<String> got = tokenwise("vit_micro_patch4_32", "1");
        int last = TrainedPart.of("vit_micro_patch4_32", "all").getDepth() - 1;
        assertEquals(
                List.of(
                        "blocks." + last + ".attn.qkv",
                        "blocks." + last + ".attn.proj",
                        "blocks." + last + ".mlp.fc1",
                        "blocks." + last + ".mlp.fc2"),
                got);
    }

    @Test
    void theLastStageSettingFreezesAllButTheStageAndHeadsAndFreezesNorms() {
        TargetModules frozen = TrainedPart.of("efficientformer_l1", "1").frozen(false);
        for (String trained :
                List.of(
                        "stages.3.blocks.0.mlp.fc1.weight",
                        "stages.3.downsample.conv.weight",
                        "stages.3.blocks.4.token_mixer.attention_biases",
                        "head.weight",
                        "head_dist.bias")) {
            assertFalse(frozen.matches(trained), trained);
        }
        for (String fixed :
                List.of(
                        "stem.conv1.weight",
                        "stages.2.blocks.5.mlp.fc1.weight",
                        "stages.3.blocks.0.mlp.norm1.weight",
                        "stages.3.blocks.4.norm2.bias",
                        "norm.weight")) {
            assertTrue(frozen.matches(fixed), fixed);
        }
        TargetModules all = TrainedPart.of("efficientformer_l1", "all").frozen(false);
        assertFalse(all.matches("stem.conv1.weight"));
        assertTrue(all.matches("stages.0.blocks.0.mlp.norm1.weight"));
        TargetModules headOnly = TrainedPart.of("efficientformer_l1", "all").frozen(true);
        assertFalse(headOnly.matches("head_dist.weight"));
        assertTrue(headOnly.matches("stages.3.blocks.4.mlp.fc1.weight"));
    }

    @Test
    void aBadSettingNamesTheUnitsOfTheModel() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> TrainedPart.of("efficientformer_l1", "5"));
        assertTrue(e.getMessage().contains("stages in 1..4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TrainedPart.of("no_such_model", "1"));
        assertEquals("the last stage of 4", TrainedPart.of("efficientformer_l1", "1").describe());
    }
}
