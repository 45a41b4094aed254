package io.github.lbpdjl.zoo.efficientformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.safetensors.Tensor;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;

/**
 * A fixture written by {@code src/test/python/make_efficientformer_fixtures.py} from timm's own
 * code: {@code <name>.safetensors} (timm's state_dict, buffers included) and {@code
 * <name>-io.safetensors} (input, eval logits, train-mode gradients of {@code sum(logits *
 * target)}).
 */
final class TimmFixture {

    static final String DIR = "/io/github/lbpdjl/zoo/efficientformer/";

    /** Three stages at 112x112, last stage Meta4D, Flat, Meta3D. */
    static final String TINY3 = "efficientformer_tiny3_112";

    /** Two stages at 56x56, last stage Flat, Meta3D. */
    static final String TINY2 = "efficientformer_tiny2_56";

    final String name;
    final Path weights;
    final Map<String, Tensor> io;
    final Map<String, String> metadata;
    final JsonObject config;
    final int imageSize;
    final int batch;

    TimmFixture(String name) throws IOException {
        this.name = name;
        this.weights = resource(name + ".safetensors");
        Path ioFile = resource(name + "-io.safetensors");
        this.io = SafetensorsFile.readAll(ioFile);
        try (SafetensorsFile f = SafetensorsFile.open(ioFile)) {
            this.metadata = f.getMetadata();
        }
        this.config = JsonParser.parseString(metadata.get("config")).getAsJsonObject();
        this.imageSize = Integer.parseInt(metadata.get("image_size"));
        this.batch = Integer.parseInt(metadata.get("batch"));
    }

    static Path resource(String file) {
        URL url = TimmFixture.class.getResource(DIR + file);
        if (url == null) {
            throw new IllegalStateException("test resource missing: " + DIR + file);
        }
        try {
            return Paths.get(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
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

    float[] get(String key) {
        Tensor t = io.get(key);
        if (t == null) {
            throw new IllegalArgumentException(name + ": no tensor " + key);
        }
        return t.toFloatArray();
    }

    /** Eval-mode logits of the model on the fixture's input. */
    float[] evalLogits(EfficientFormer model, NDManager manager) {
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
