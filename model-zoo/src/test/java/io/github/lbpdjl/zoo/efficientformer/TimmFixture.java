package io.github.lbpdjl.zoo.efficientformer;

import io.github.lbpdjl.zoo.FixtureFiles;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A fixture written by {@code src/test/python/make_efficientformer_fixtures.py} from timm's own
 * code: {@code <name>.safetensors} (timm's state_dict, buffers included) and {@code
 * <name>-io.safetensors} (input, eval logits, train-mode gradients of {@code sum(logits *
 * target)}).
 */
final class TimmFixture extends FixtureFiles {

    static final String DIR = "/io/github/lbpdjl/zoo/efficientformer/";

    /** Three stages at 112x112, last stage Meta4D, Flat, Meta3D. */
    static final String TINY3 = "efficientformer_tiny3_112";

    /** Two stages at 56x56, last stage Flat, Meta3D. */
    static final String TINY2 = "efficientformer_tiny2_56";

    final int imageSize;

    TimmFixture(String name) throws IOException {
        super(DIR, name);
        this.imageSize = Integer.parseInt(metadata.get("image_size"));
    }

    static Path resource(String file) {
        return resource(DIR, file);
    }

    /** A builder with the fixture's configuration, the rest as timm's defaults. */
    EfficientFormerBuilder builder() {
        return EfficientFormer.builder()
                .setDepths(ints(config.getAsJsonArray("depths")))
                .setEmbedDims(ints(config.getAsJsonArray("embed_dims")))
                .setNumVit(config.get("num_vit").getAsInt())
                .optNumClasses(config.get("num_classes").getAsInt())
                .setImageSize(imageSize);
    }
}
