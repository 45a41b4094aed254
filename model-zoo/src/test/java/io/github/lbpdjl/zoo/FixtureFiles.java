package io.github.lbpdjl.zoo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.safetensors.Tensor;
import io.github.lbpdjl.zoo.vit.TimmModel;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;

/**
 * A fixture pair written by one of {@code src/test/python/make_*_fixtures.py} from timm's own code,
 * read the same way for every family: {@code <name>.safetensors} (timm's state_dict) and {@code
 * <name>-io.safetensors} (input, outputs, gradients; the metadata holds the timm configuration as
 * JSON under "config" and the batch size).
 */
public class FixtureFiles {

    /** The fixture's name. */
    public final String name;

    /** timm's state_dict. */
    public final Path weights;

    /** The input, outputs and gradients by name. */
    public final Map<String, Tensor> io;

    /** The metadata of the io file. */
    public final Map<String, String> metadata;

    /** timm's configuration of the model. */
    public final JsonObject config;

    /** The batch size of the input. */
    public final int batch;

    /**
     * Reads a fixture.
     *
     * @param dir the resource folder, e.g. {@code /io/github/lbpdjl/zoo/vit/}
     * @param name the fixture's name
     * @throws IOException if a file cannot be read
     */
    public FixtureFiles(String dir, String name) throws IOException {
        this.name = name;
        this.weights = resource(dir, name + ".safetensors");
        Path ioFile = resource(dir, name + "-io.safetensors");
        this.io = SafetensorsFile.readAll(ioFile);
        try (SafetensorsFile f = SafetensorsFile.open(ioFile)) {
            this.metadata = f.getMetadata();
        }
        this.config = JsonParser.parseString(metadata.get("config")).getAsJsonObject();
        this.batch = Integer.parseInt(metadata.get("batch"));
    }

    /**
     * Returns a test resource as a path.
     *
     * @param dir its folder
     * @param file its name
     * @return the path
     */
    public static Path resource(String dir, String file) {
        URL url = FixtureFiles.class.getResource(dir + file);
        if (url == null) {
            throw new IllegalStateException("test resource missing: " + dir + file);
        }
        try {
            return Paths.get(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Returns a tensor of the io file.
     *
     * @param key its name
     * @return its values
     */
    public float[] get(String key) {
        Tensor t = io.get(key);
        if (t == null) {
            throw new IllegalArgumentException(name + ": no tensor " + key);
        }
        return t.toFloatArray();
    }

    /**
     * Runs the model in eval mode on the fixture's input.
     *
     * @param model the model
     * @param manager where the arrays go (a sub-manager, closed after)
     * @return the output
     */
    public float[] eval(TimmModel model, NDManager manager) {
        try (NDManager sub = manager.newSubManager()) {
            NDArray x = sub.create(get("input"), model.getInputShape(batch));
            return model.forward(new ParameterStore(sub, false), new NDList(x), false)
                    .singletonOrThrow()
                    .toFloatArray();
        }
    }

    /**
     * Returns max |got - want| / max |want|.
     *
     * @param got the values computed
     * @param want the reference
     * @return the relative error
     */
    public static double rel(float[] got, float[] want) {
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

    /**
     * Reads a JSON array of integers.
     *
     * @param a the array
     * @return its values
     */
    public static int[] ints(JsonArray a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }
}
