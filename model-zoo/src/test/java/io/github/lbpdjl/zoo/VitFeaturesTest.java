package io.github.lbpdjl.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.wht.TokenLayout;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import io.github.lbpdjl.zoo.vit.VisionTransformerBuilder;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The ViT's timm features beyond the fixtures' numbers: the token layout LBP-WHT derives for
 * distilled, register and 384-pixel models; headless checkpoints and models; and the one-line
 * messages for what is not supported.
 */
class VitFeaturesTest {

    private static VisionTransformerBuilder small() {
        return VisionTransformer.builder()
                .setImageSize(32)
                .setPatchSize(8)
                .setEmbedDim(32)
                .setDepth(1)
                .setNumHeads(2)
                .optNumClasses(5);
    }

    @Test
    void lbpRewriterLayoutFollowsTheModel() {
        assertLayout(small().optDistilled(true).build(), 2, 4, 4);
        assertLayout(small().optRegTokens(4).build(), 5, 4, 4);
        assertLayout(small().optRegTokens(4).optNoEmbedClass(true).build(), 5, 4, 4);
        assertLayout(small().optDistilled(true).optRegTokens(1).build(), 3, 4, 4);
        assertLayout(small().setImageSize(48, 64).build(), 1, 6, 8);
        assertLayout(
                small().optClassToken(false).optGlobalPool("avg").setPatchSize(16).build(),
                0,
                2,
                2);
        // timm's vit_base_patch16_384 and vit_small_patch8_224 grids
        assertEquals(
                TokenLayout.grid(1, 24, 24),
                TokenLayout.of(VitVariant.VIT_BASE_PATCH16_384.builder().optNumClasses(2).build()));
        assertEquals(
                TokenLayout.grid(2, 14, 14),
                TokenLayout.of(VitVariant.DEIT_TINY_DISTILLED_PATCH16_224.build()));
    }

    private static void assertLayout(VisionTransformer vit, int extra, int h, int w) {
        TokenLayout want = TokenLayout.grid(extra, h, w);
        assertEquals(want, TokenLayout.of(vit));
        try (Model m = Model.newInstance("vit", Device.cpu(), "PyTorch")) {
            m.setBlock(vit);
            vit.initialize(m.getNDManager());
            Map<String, TokenLayout> plan =
                    LbpRewriter.builder()
                            .optTargets(TargetModules.regex(".*(qkv|proj|fc1|fc2)"))
                            .optExclude(TargetModules.regex(".*patch_embed.*"))
                            .build()
                            .plan(m);
            assertEquals(4, plan.size(), plan.toString());
            for (TokenLayout l : plan.values()) {
                assertEquals(want, l);
            }
        }
    }

    @Test
    void headlessCheckpointGetsANewHeadAndHeadlessModelIgnoresAHead() throws Exception {
        VitFixture headless = new VitFixture("vit_headless");
        VisionTransformer withHead = headless.builder().optNumClasses(7).build();
        try (Model m = Model.newInstance("vit", Device.cpu(), "PyTorch")) {
            m.setBlock(withHead);
            withHead.initialize(m.getNDManager());
            ImportResult r = VitWeights.load(withHead, headless.weights);
            assertEquals(List.of("head.weight", "head.bias"), r.getReinitialised());
            assertEquals(withHead.timmParameters().size() - 2, r.getLoaded());
        }
        VitFixture plain = new VitFixture("vit_plain");
        VisionTransformer features = plain.builder().optNumClasses(0).build();
        try (Model m = Model.newInstance("vit", Device.cpu(), "MXNet")) {
            m.setBlock(features);
            features.initialize(m.getNDManager());
            ImportResult r = VitWeights.load(features, plain.weights);
            assertEquals(List.of("head.weight", "head.bias"), r.getIgnored());
            assertEquals(features.timmParameters().size(), r.getLoaded());
            float[] out = plain.eval(features, m.getNDManager());
            assertEquals(plain.batch * 32, out.length, "features (B, C)");
        }
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "norm_pre.weight | pre_norm",
                "attn_pool.latent | global_pool='map'",
                "patch_embed.norm.weight | patch embedding",
                "blocks.0.attn.q_norm.weight | qk_norm",
                "blocks.0.mlp.norm.weight | scale_mlp_norm",
                "blocks.0.mlp.fc1_g.weight | SwiGLU",
                "dist_token | distilled=true",
                "reg_token | regTokens",
                "blocks.0.ls1.gamma | initValues",
                "blocks.0.gamma_1 | ls1.gamma",
                "fc_norm.weight | globalPool=avg"
            })
    void unsupportedTensorsAreNamedWithTheReason(String tensor, String reason) {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                VitWeights.checkSupported(
                                        small().build(), List.of("cls_token", tensor), "ckpt"));
        assertTrue(e.getMessage().startsWith("ckpt: tensor '" + tensor + "': "), e.getMessage());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
    }

    @Test
    void builderRefusesWhatTimmWouldNotBuild() {
        assertMessage(small().optGlobalPool("map"), "global pool (optGlobalPool) 'map'");
        assertMessage(
                small().optDistilled(true).optGlobalPool("avg"), "distilled DeiT (optDistilled)");
        assertMessage(small().optClassToken(false), "needs the class token");
        assertMessage(small().optNumClasses(-1), "optNumClasses");
        assertMessage(small().optRegTokens(-2), "optRegTokens");
    }

    private static void assertMessage(VisionTransformerBuilder b, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, b::build);
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
