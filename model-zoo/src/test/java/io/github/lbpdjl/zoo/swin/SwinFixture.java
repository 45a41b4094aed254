package io.github.lbpdjl.zoo.swin;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.safetensors.Tensor;
import io.github.lbpdjl.zoo.SwinV2Weights;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;

/**
 * A fixture written by {@code src/test/python/make_swinv2_fixtures.py} from timm's own code: {@code
 * <name>.safetensors} (timm's state_dict) and {@code <name>-io.safetensors} (input, eval logits,
 * gradients of {@code sum(logits * target)} in float32 and float64).
 */
final class SwinFixture {

    static final String DIR = "/io/github/lbpdjl/zoo/swin/";

    /** Two stages at 64x64, window 8: stage 0 16x16 (unshifted, shifted by 4), stage 1 8x8. */
    static final String TINY2 = "swinv2_tiny2_w8_64";

    /** Three stages at 32x64, window 4: shifts (2, 2) and (0, 2), a 2x4 window in stage 2. */
    static final String TINY3 = "swinv2_tiny3_w4_32x64";

    final String name;
    final Path weights;
    final Map<String, Tensor> io;
    final JsonObject config;
    final int imageHeight;
    final int imageWidth;
    final int batch;

    SwinFixture(String name) throws IOException {
        this.name = name;
        this.weights = resource(name + ".safetensors");
        Path ioFile = resource(name + "-io.safetensors");
        this.io = SafetensorsFile.readAll(ioFile);
        Map<String, String> metadata;
        try (SafetensorsFile f = SafetensorsFile.open(ioFile)) {
            metadata = f.getMetadata();
        }
        this.config = JsonParser.parseString(metadata.get("config")).getAsJsonObject();
        JsonArray image = JsonParser.parseString(metadata.get("image_size")).getAsJsonArray();
        this.imageHeight = image.get(0).getAsInt();
        this.imageWidth = image.get(1).getAsInt();
        this.batch = Integer.parseInt(metadata.get("batch"));
    }

    static Path resource(String file) {
        URL url = SwinFixture.class.getResource(DIR + file);
        if (url == null) {
            throw new IllegalStateException("test resource missing: " + DIR + file);
        }
        try {
            return Paths.get(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
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

    float[] get(String key) {
        Tensor t = io.get(key);
        if (t == null) {
            throw new IllegalArgumentException(name + ": no tensor " + key);
        }
        return t.toFloatArray();
    }

    /** Eval-mode logits of the model on the fixture's input. */
    float[] evalLogits(SwinTransformerV2 model, NDManager manager) {
        try (NDManager sub = manager.newSubManager()) {
            NDArray x = sub.create(get("input"), model.getInputShape(batch));
            return model.forward(new ParameterStore(sub, false), new NDList(x), false)
                    .singletonOrThrow()
                    .toFloatArray();
        }
    }

    /** max |got - want| / max |want|. */
    static double rel(float[] got, float[] want) {
        if (got.length != want.length) {
            throw new AssertionError("length " + got.length + " != " + want.length);
        }
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < want.length; i++) {
            diff = Math.max(diff, Math.abs((double) got[i] - want[i]));
            scale = Math.max(scale, Math.abs(want[i]));
        }
        return diff / scale;
    }

    private static int[] ints(JsonArray a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }
}
