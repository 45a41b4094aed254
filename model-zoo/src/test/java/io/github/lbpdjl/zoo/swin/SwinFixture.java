package io.github.lbpdjl.zoo.swin;

import ai.djl.Device;
import ai.djl.Model;
import com.google.gson.JsonArray;
import com.google.gson.JsonParser;
import io.github.lbpdjl.zoo.FixtureFiles;
import io.github.lbpdjl.zoo.SwinV2Weights;
import java.io.IOException;

/**
 * A fixture written by {@code src/test/python/make_swinv2_fixtures.py} from timm's own code: {@code
 * <name>.safetensors} (timm's state_dict) and {@code <name>-io.safetensors} (input, eval logits,
 * gradients of {@code sum(logits * target)} in float32 and float64).
 */
final class SwinFixture extends FixtureFiles {

    static final String DIR = "/io/github/lbpdjl/zoo/swin/";

    /** Two stages at 64x64, window 8: stage 0 16x16 (unshifted, shifted by 4), stage 1 8x8. */
    static final String TINY2 = "swinv2_tiny2_w8_64";

    /** Three stages at 32x64, window 4: shifts (2, 2) and (0, 2), a 2x4 window in stage 2. */
    static final String TINY3 = "swinv2_tiny3_w4_32x64";

    final int imageHeight;
    final int imageWidth;

    SwinFixture(String name) throws IOException {
        super(DIR, name);
        JsonArray image = JsonParser.parseString(metadata.get("image_size")).getAsJsonArray();
        this.imageHeight = image.get(0).getAsInt();
        this.imageWidth = image.get(1).getAsInt();
    }

    /** A builder with the fixture's configuration. */
    SwinTransformerV2Builder builder() {
        return SwinTransformerV2.builder()
                .setImageSize(imageHeight, imageWidth)
                .optPatchSize(config.get("patch_size").getAsInt())
                .setEmbedDim(config.get("embed_dim").getAsInt())
                .setDepths(ints(config.getAsJsonArray("depths")))
                .setNumHeads(ints(config.getAsJsonArray("num_heads")))
                .setWindowSize(config.get("window_size").getAsInt())
                .optNumClasses(config.get("num_classes").getAsInt());
    }

    /** A model of the builder's configuration in a new Model on an engine, with timm's weights. */
    Model load(SwinTransformerV2 model, String engine) throws IOException {
        Model m = Model.newInstance("swinv2", Device.cpu(), engine);
        m.setBlock(model);
        model.initialize(m.getNDManager());
        SwinV2Weights.load(model, weights);
        return m;
    }
}
