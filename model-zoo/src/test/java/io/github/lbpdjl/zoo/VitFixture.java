package io.github.lbpdjl.zoo;

import com.google.gson.JsonElement;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import io.github.lbpdjl.zoo.vit.VisionTransformerBuilder;
import java.io.IOException;

/**
 * A ViT fixture written by {@code src/test/python/make_vit_fixtures.py} from timm's own code:
 * {@code <name>.safetensors} (the checkpoint, timm's state_dict at its own image size) and {@code
 * <name>-io.safetensors} (input, output of the model as built, gradients of {@code sum(output *
 * target)}).
 */
final class VitFixture extends FixtureFiles {

    static final String DIR = "/io/github/lbpdjl/zoo/vit/";

    final String timmClass;
    final int checkpointImageSize;

    VitFixture(String name) throws IOException {
        super(DIR, name);
        this.timmClass = metadata.get("class");
        this.checkpointImageSize = Integer.parseInt(metadata.get("checkpoint_img_size"));
    }

    int imageSize() {
        return config.get("img_size").getAsInt();
    }

    int numClasses() {
        return config.get("num_classes").getAsInt();
    }

    /** A builder with the fixture's timm arguments, the rest as timm's defaults. */
    VisionTransformerBuilder builder() {
        VisionTransformerBuilder b =
                VisionTransformer.builder()
                        .setImageSize(imageSize())
                        .setPatchSize(config.get("patch_size").getAsInt())
                        .setEmbedDim(config.get("embed_dim").getAsInt())
                        .setDepth(config.get("depth").getAsInt())
                        .setNumHeads(config.get("num_heads").getAsInt())
                        .optNumClasses(numClasses())
                        .optDistilled("VisionTransformerDistilled".equals(timmClass));
        JsonElement e;
        if ((e = config.get("mlp_ratio")) != null) {
            b.optMlpRatio(e.getAsDouble());
        }
        if ((e = config.get("global_pool")) != null) {
            b.optGlobalPool(e.getAsString());
        }
        if ((e = config.get("class_token")) != null) {
            b.optClassToken(e.getAsBoolean());
        }
        if ((e = config.get("fc_norm")) != null) {
            b.optFcNorm(e.getAsBoolean());
        }
        if ((e = config.get("reg_tokens")) != null) {
            b.optRegTokens(e.getAsInt());
        }
        if ((e = config.get("no_embed_class")) != null) {
            b.optNoEmbedClass(e.getAsBoolean());
        }
        if ((e = config.get("init_values")) != null) {
            b.optInitValues(e.getAsFloat());
        }
        return b;
    }
}
