package io.github.lbpdjl.zoo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.safetensors.Tensor;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import io.github.lbpdjl.zoo.vit.VisionTransformerBuilder;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;

/**
 * A ViT fixture written by {@code src/test/python/make_vit_fixtures.py} from timm's own code:
 * {@code <name>.safetensors} (the checkpoint, timm's state_dict at its own image size) and {@code
 * <name>-io.safetensors} (input, output of the model as built, gradients of {@code sum(output *
 * target)}).
 */
final class VitFixture {

    static final String DIR = "/io/github/lbpdjl/zoo/vit/";

    final String name;
    final Path weights;
    final Map<String, Tensor> io;
    final JsonObject config;
    final String timmClass;
    final int checkpointImageSize;
    final int batch;

    VitFixture(String name) throws IOException {
        this.name = name;
        this.weights = resource(name + ".safetensors");
        Path ioFile = resource(name + "-io.safetensors");
        this.io = SafetensorsFile.readAll(ioFile);
        Map<String, String> metadata;
        try (SafetensorsFile f = SafetensorsFile.open(ioFile)) {
            metadata = f.getMetadata();
        }
        this.config = JsonParser.parseString(metadata.get("config")).getAsJsonObject();
        this.timmClass = metadata.get("class");
        this.checkpointImageSize = Integer.parseInt(metadata.get("checkpoint_img_size"));
        this.batch = Integer.parseInt(metadata.get("batch"));
    }

    static Path resource(String file) {
        URL url = VitFixture.class.getResource(DIR + file);
        if (url == null) {
            throw new IllegalStateException("test resource missing: " + DIR + file);
        }
        try {
            return Paths.get(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
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

    float[] get(String key) {
        Tensor t = io.get(key);
        if (t == null) {
            throw new IllegalArgumentException(name + ": no tensor " + key);
        }
        return t.toFloatArray();
    }

    /** Eval-mode output of the model on the fixture's input. */
    float[] evalOutput(VisionTransformer model, NDManager manager) {
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
}
