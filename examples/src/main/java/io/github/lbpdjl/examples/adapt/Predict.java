package io.github.lbpdjl.examples.adapt;

import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.lbpdjl.examples.common.Offline;
import io.github.lbpdjl.zoo.TimmModelLoader;
import io.github.lbpdjl.zoo.VitModelZoo;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Serves a model the adaptation program saved ({@code adapt --save}): reads its folder's {@code
 * config.json} (timm's hub format: architecture, classes, channels, label names, preprocessing),
 * loads its {@code model.safetensors} through the zoo's Criteria as {@code Image ->
 * Classifications} (class names from the folder's {@code synset.txt}), and prints the top classes
 * of each image file given, or of every image in the folders given. A folder saved by an earlier
 * version, with DJL's {@code .params} instead, loads too.
 */
@Command(
        name = "predict",
        mixinStandardHelpOptions = true,
        description = "Classify image files with a model saved by adapt --save.")
public final class Predict implements Callable<Integer> {

    @Option(
            names = "--model-dir",
            required = true,
            description =
                    "A folder written by adapt --save (config.json, model.safetensors,"
                            + " synset.txt).")
    Path modelDir;

    @Option(names = "--engine", description = "PyTorch or MXNet (default: ${DEFAULT-VALUE}).")
    String engine = "PyTorch";

    @Option(names = "--top", description = "Classes shown per image (default: ${DEFAULT-VALUE}).")
    int top = 3;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "Image files or folders.")
    List<Path> images;

    @Spec CommandLine.Model.CommandSpec spec;

    /**
     * Runs the program.
     *
     * @param args see --help
     */
    public static void main(String[] args) {
        Offline.ensure();
        System.exit(commandLine().execute(args));
    }

    /**
     * The command line: a user's mistake (a folder without a saved model, a missing image) is one
     * line and exit code 2 or 1, no stack trace.
     *
     * @return the command line
     */
    static CommandLine commandLine() {
        CommandLine cmd = new CommandLine(new Predict());
        cmd.setExecutionExceptionHandler(
                (e, c, parsed) -> {
                    if (!(e instanceof IOException)) {
                        throw e;
                    }
                    c.getErr().println("predict: " + e.getMessage());
                    c.getErr().flush();
                    return c.getCommandSpec().exitCodeOnExecutionException();
                });
        return cmd;
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (top < 1) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "Invalid value for option '--top': " + top + " is below 1");
        }
        Criteria<Image, Classifications> criteria = criteria(modelDir, engine);
        List<Path> files = files(images);
        try (ZooModel<Image, Classifications> model = criteria.loadModel();
                Predictor<Image, Classifications> predictor = model.newPredictor()) {
            for (Path f : files) {
                Image image = ImageFactory.getInstance().fromFile(f);
                List<Classifications.Classification> best = predictor.predict(image).topK(top);
                out.println(
                        f
                                + ": "
                                + best.stream()
                                        .map(
                                                c ->
                                                        String.format(
                                                                Locale.ROOT,
                                                                "%s %.3f",
                                                                c.getClassName(),
                                                                c.getProbability()))
                                        .collect(Collectors.joining(", ")));
            }
        }
        out.flush();
        return 0;
    }

    /**
     * The Criteria of a saved model folder.
     *
     * @param dir the folder adapt --save wrote
     * @param engine the engine
     * @return the Criteria, {@code Image -> Classifications}
     * @throws IOException naming the folder if it holds no saved model or a malformed config
     */
    static Criteria<Image, Classifications> criteria(Path dir, String engine) throws IOException {
        Path config = dir.resolve(SavedModel.CONFIG);
        if (!Files.isRegularFile(config)) {
            throw new IOException(dir + " holds no " + SavedModel.CONFIG + ": not a saved model");
        }
        Path params = dir.resolve(SavedModel.WEIGHTS);
        if (!Files.isRegularFile(params)) {
            try (Stream<Path> s = Files.list(dir)) {
                params =
                        s.filter(p -> p.getFileName().toString().endsWith(".params"))
                                .findFirst()
                                .orElseThrow(
                                        () ->
                                                new IOException(
                                                        dir + " holds no " + SavedModel.WEIGHTS));
            }
        }
        JsonObject root;
        try {
            root = JsonParser.parseString(Files.readString(config)).getAsJsonObject();
            JsonObject cfg = root.getAsJsonObject("pretrained_cfg");
            return Criteria.builder()
                    .setTypes(Image.class, Classifications.class)
                    .optGroupId(VitModelZoo.GROUP_ID)
                    .optArtifactId(root.get("architecture").getAsString())
                    .optEngine(engine)
                    .optArgument(TimmModelLoader.ARG_WEIGHTS, params.toString())
                    .optArgument(
                            TimmModelLoader.ARG_NUM_CLASSES, root.get("num_classes").getAsInt())
                    .optArgument(
                            TimmModelLoader.ARG_IN_CHANNELS,
                            root.getAsJsonObject("model_args").get("in_chans").getAsInt())
                    .optArgument(
                            TimmModelLoader.ARG_INTERPOLATION,
                            cfg.get("interpolation").getAsString())
                    .optArgument(TimmModelLoader.ARG_CROP_PCT, cfg.get("crop_pct").getAsString())
                    .optArgument(TimmModelLoader.ARG_MEAN, numbers(cfg.getAsJsonArray("mean")))
                    .optArgument(TimmModelLoader.ARG_STD, numbers(cfg.getAsJsonArray("std")))
                    .build();
        } catch (RuntimeException e) {
            throw new IOException(config + ": not a saved model's configuration (" + e + ")", e);
        }
    }

    private static String numbers(JsonArray a) {
        List<String> out = new ArrayList<>();
        for (JsonElement e : a) {
            out.add(e.getAsString());
        }
        return String.join(",", out);
    }

    /** The image files: each file given, and the images under each folder given, in order. */
    private static List<Path> files(List<Path> given) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path p : given) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.walk(p)) {
                    s.filter(Files::isRegularFile)
                            .filter(Predict::isImage)
                            .sorted()
                            .forEach(out::add);
                }
            } else if (Files.isRegularFile(p)) {
                out.add(p);
            } else {
                throw new IOException(p + ": no such image file or folder");
            }
        }
        return out;
    }

    private static boolean isImage(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".png")
                || n.endsWith(".jpg")
                || n.endsWith(".jpeg")
                || n.endsWith(".bmp")
                || n.endsWith(".gif");
    }
}
