package io.github.lbpdjl.examples.adapt;

import ai.djl.TrainingDivergedException;
import io.github.lbpdjl.examples.common.ChildJvm;
import io.github.lbpdjl.examples.common.Method;
import io.github.lbpdjl.examples.common.Offline;
import io.github.lbpdjl.examples.common.TrainedPart;
import io.github.lbpdjl.zoo.Preprocessing;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The main job: load a ViT from the zoo through Criteria, adapt it to a data set with one or more
 * methods under the same recipe and seed, evaluate, and write CSV, JSON, Markdown and PNG plots.
 * Each method's run is an {@link Adaptation}; with {@code --isolate} each runs in a child JVM of
 * its own ({@link ChildJvm}), which writes its row for this program to merge. Every option is
 * checked before any data is read ({@link OptionCheck}): a bad value is one line naming the option
 * and exit code 2. Results are saved after each method with the options that produced them ({@link
 * ResultStore}); a re-run with the same options resumes.
 */
@Command(
        name = "adapt",
        mixinStandardHelpOptions = true,
        description = {
            "Adapt a zoo-loaded ViT to new data with full fine-tuning, head-only training, gradient"
                + " filtering, LBP-WHT, LoRA or LoRA + LBP-WHT, side by side, and write results and"
                + " plots.",
            "Default: the MNIST-pretrained vit_micro_patch4_32 adapted to Fashion-MNIST, full"
                    + " fine-tuning against LBP-WHT LP_L1-4."
        })
public final class Adapt implements Callable<Integer> {

    static final String SWEEP =
            "head,full,filter,lbp-l1-2,lbp-l1-4,lbp-l1-6,lbp-linf-2,energy-0.9,"
                    + "lora-8,lora-8+lbp-l1-2";

    @Option(names = "--model", description = "Zoo artifact id (default: ${DEFAULT-VALUE}).")
    String model = "vit_micro_patch4_32";

    @Option(
            names = "--pretrained",
            description = "Shipped weights by data set, or 'none' (default: ${DEFAULT-VALUE}).")
    String pretrained = "mnist";

    @Option(
            names = "--weights",
            description =
                    "A .safetensors (timm or Hugging Face names) or DJL .params file, or a"
                            + " checkpoint folder as the Hugging Face Hub holds it (config.json and"
                            + " model.safetensors, timm's or transformers'): a local path, or a URL"
                            + " of a file to download once into --cache.")
    String weights;

    @Option(
            names = "--data",
            description =
                    "Data folder (IDX, CIFAR or images in class sub-folders); for IDX also four"
                            + " files of any names, TRAIN_IMAGES,TRAIN_LABELS,TEST_IMAGES,"
                            + "TEST_LABELS (any number of classes), or a base URL serving the four"
                            + " gzipped IDX files, downloaded once into --cache (default:"
                            + " ${DEFAULT-VALUE}).")
    String data = "/usr/share/datasets/fashion-mnist";

    @Option(
            names = "--cache",
            description =
                    "Where URLs given to --weights and --data are downloaded (default:"
                            + " ${DEFAULT-VALUE}).")
    Path cache = Paths.get(System.getProperty("user.home"), ".cache", "lbp-djl");

    @Option(
            names = "--format",
            description =
                    "idx, cifar10, cifar100, or folder: images in one sub-folder per class, or in"
                            + " train/ and test/ holding such sub-folders (default: folder when"
                            + " --data holds class sub-folders, else ${DEFAULT-VALUE}).")
    String format = "idx";

    @Option(
            names = "--test-fraction",
            description =
                    "A folder without train/ and test/: the share of its images held out for"
                            + " testing, chosen with --seed (default: ${DEFAULT-VALUE}).")
    double testFraction = 0.2;

    @Option(
            names = "--no-augment",
            description =
                    "A folder: train on resized, centre-cropped images, without the random resized"
                            + " crop and horizontal flip.")
    boolean noAugment;

    @Option(
            names = "--methods",
            split = ",",
            description =
                    "Methods: head, full, filter, lbp-l1-O, lbp-linf-O, energy-T, lora-R,"
                            + " lora-R+lbp-l1-O (default: ${DEFAULT-VALUE}).")
    List<String> methods = List.of("full", "lbp-l1-4");

    @Option(names = "--sweep", description = "Run every method: " + SWEEP + ".")
    boolean sweep;

    @Option(
            names = "--flops",
            description =
                    "Print each method's backward MFLOPs per image on the trained part's token-wise"
                            + " layers, and train nothing.")
    boolean flops;

    @Option(
            names = "--train-blocks",
            description =
                    "'all', or N to train only the last N blocks (default: ${DEFAULT-VALUE}).")
    String trainBlocks = "all";

    @Option(names = "--epochs", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs = 2;

    @Option(names = "--batch", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch = 64;

    @Option(names = "--lr", description = "AdamW learning rate (default: ${DEFAULT-VALUE}).")
    float lr = 5e-4f;

    @Option(
            names = "--cosine",
            description = "Cosine decay of the learning rate to lr/100 (default: fixed).")
    boolean cosine;

    @Option(
            names = "--clip-grad",
            description =
                    "DJL AdamW's clipGrad: 0 = off (default: ${DEFAULT-VALUE}); on PyTorch DJL"
                            + " clamps only from above.")
    float clipGrad = 0f;

    @Option(
            names = "--train-size",
            description = "Training samples used, 0 = all (default: ${DEFAULT-VALUE}).")
    int trainSize = 10000;

    @Option(
            names = "--test-size",
            description = "Test samples used, 0 = all (default: ${DEFAULT-VALUE}).")
    int testSize = 10000;

    @Option(
            names = "--energy-every",
            description =
                    "Sample the gradient energy kept every N batches; 0 = off (default:"
                            + " ${DEFAULT-VALUE}).")
    int energyEvery = 50;

    @Option(
            names = "--seed",
            description = "Seed of initialisation and data order (default: ${DEFAULT-VALUE}).")
    int seed = 42;

    @Option(names = "--engine", description = "PyTorch or MXNet (default: ${DEFAULT-VALUE}).")
    String engine = "PyTorch";

    @Option(
            names = "--isolate",
            description =
                    "Run each method in a child JVM of its own, so that peak RSS is the method's"
                            + " alone.")
    boolean isolate;

    @Option(
            names = "--out",
            description =
                    "Output folder (default: ${DEFAULT-VALUE}). Results are saved after each"
                            + " method; a re-run with the same options resumes there, keeping the"
                            + " finished methods.")
    Path out = Paths.get("output", "adapt");

    @Option(
            names = "--fresh",
            description =
                    "Discard the results in --out (of these or other options) and start afresh.")
    boolean fresh;

    @Option(
            names = "--checkpoint-every",
            description =
                    "Save a checkpoint of the method in progress every N training steps into"
                            + " --out/checkpoints/<method>/, from which a re-run with the same"
                            + " options continues it; 0 = off (default: ${DEFAULT-VALUE}). On, the"
                            + " optimizer is the library's ResumableAdamW, whose state is saved.")
    int checkpointEvery = 0;

    @Option(
            names = "--save",
            description =
                    "Save each method's adapted model run now into --out/models/<method>/ as a"
                            + " timm hub folder (model.safetensors, config.json, synset.txt; for"
                            + " LoRA also the PEFT adapter), ready to serve: load model.safetensors"
                            + " with the zoo's Criteria argument 'weights', or run predict.")
    boolean save;

    /** Set by {@link #runInChild}: this JVM runs one method alone, so its peak RSS is its own. */
    @Option(names = "--isolated-child", hidden = true)
    boolean isolatedChild;

    @Spec CommandSpec spec;

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
     * The program's command line: a bad option value prints one line naming the option and the
     * value and exits with 2; an I/O failure (a file that cannot be read or written, a failed
     * download) prints its message and exits with 1; anything else, a bug, its stack trace.
     *
     * @return the command line, ready to {@code execute}
     */
    static CommandLine commandLine() {
        CommandLine cmd = new CommandLine(new Adapt());
        cmd.setParameterExceptionHandler(Adapt::badValue);
        cmd.setExecutionExceptionHandler(Adapt::failed);
        return cmd;
    }

    private static int badValue(ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println(e.getMessage());
        if (!UnmatchedArgumentException.printSuggestions(e, err)) {
            err.println("Run with --help for the options.");
        }
        err.flush();
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }

    private static int failed(Exception e, CommandLine cmd, ParseResult parsed) throws Exception {
        if (e instanceof ParameterException) {
            // found once the data is read: still the user's option, not a bug
            cmd.getErr().println(e.getMessage());
            cmd.getErr().flush();
            return cmd.getCommandSpec().exitCodeOnInvalidInput();
        }
        if (!(e instanceof IOException)) {
            throw e;
        }
        cmd.getErr().println("adapt: " + e.getMessage());
        cmd.getErr().flush();
        return cmd.getCommandSpec().exitCodeOnExecutionException();
    }

    @Override
    public Integer call() throws Exception {
        CommandLine cmd = spec != null ? spec.commandLine() : new CommandLine(this);
        List<Method> list = OptionCheck.all(this, cmd);
        if (flops) {
            cmd.getOut()
                    .print(FlopTable.of(model, TrainedPart.of(model, trainBlocks), engine, list));
            cmd.getOut().flush();
            return 0;
        }
        Results results = ResultStore.open(out, resultOptions(), fresh, cmd);
        for (Row r : results.rows()) { // left by a run killed after saving the row
            MethodCheckpoint.of(checkpointsDir(), r.method).delete();
        }
        List<Method> todo = list.stream().filter(m -> !results.has(m.getName())).toList();
        if (!results.rows().isEmpty()) {
            System.out.printf(
                    Locale.ROOT,
                    "%s: resuming; kept from an earlier run with the same options: %s (--fresh"
                            + " runs everything again)%n",
                    out,
                    results.rows().stream().map(r -> r.method).collect(Collectors.joining(", ")));
        }
        if (!todo.isEmpty()) {
            run(todo, results);
        }
        results.write(out);
        System.out.println();
        System.out.println(results.markdown().strip());
        System.out.println("wrote " + out.toAbsolutePath());
        return 0;
    }

    /** Runs the methods, saving the results after each. */
    private void run(List<Method> todo, Results results) throws Exception {
        Splits splits = splits();
        System.out.printf(
                Locale.ROOT,
                "%s (%s) from %s: %d training and %d test images, %d classes, %d channel(s); %s%n",
                model,
                weights != null ? weights : pretrained,
                data,
                splits.trainCount(),
                splits.testCount(),
                splits.classNames().size(),
                splits.channels(),
                todo);
        Adaptation adaptation = new Adaptation(this);
        for (Method m : todo) {
            Row row;
            if (isolate) {
                row = runInChild(m);
            } else {
                try {
                    row = adaptation.run(m, splits);
                } catch (TrainingDivergedException e) {
                    System.out.printf(
                            Locale.ROOT,
                            "== %s: training diverged (%s); recorded as such ==%n",
                            m,
                            e.getMessage());
                    row = Row.diverged(m.getName());
                }
            }
            results.add(row);
            results.write(out);
            if (!isolatedChild) { // a child's row is saved once its parent has it
                MethodCheckpoint.of(checkpointsDir(), m.getName()).delete();
            }
            System.out.printf(Locale.ROOT, "== %s: saved to %s ==%n", m, out.resolve(Results.JSON));
        }
    }

    /**
     * How the model takes images: a --weights checkpoint folder's preprocessing, else --model's.
     */
    private Preprocessing input() throws IOException {
        return TrainedPart.preprocessing(model, weights);
    }

    /** The data: a folder of images, or IDX / CIFAR files enlarged to the model's input. */
    Splits splits() throws IOException {
        if (format.equals("folder")) {
            return FolderSplits.open(
                    Path.of(data), input(), testFraction, seed, !noAugment, trainSize, testSize);
        }
        // CIFAR in colour for a three-channel model, grey for the MNIST ViT
        Preprocessing input = input();
        boolean grey = input.getChannels() == 1;
        ImageData train = ImageData.load(data, format, cache, true, grey).head(trainSize);
        ImageData test = ImageData.load(data, format, cache, false, grey).head(testSize);
        long side = input.getImageSize();
        int factor = Upsampling.factor(train.size, side);
        if (factor == 0) {
            throw new ParameterException(
                    spec != null ? spec.commandLine() : new CommandLine(this),
                    String.format(
                            Locale.ROOT,
                            "--data %s: its %dx%d images do not enlarge to %s's %dx%d input by a"
                                    + " whole factor",
                            data,
                            train.size,
                            train.size,
                            model,
                            side,
                            side));
        }
        return new ArraySplits(train, test, factor, format.equals("idx"));
    }

    /**
     * The options that change results, by name, as given: stored with the results, compared when
     * resuming, and handed to child JVMs. Not among them: which methods, --out, --cache, --isolate.
     *
     * @return option name to value; a flag's value is true or false, an unset option's absent
     */
    Map<String, String> resultOptions() {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("--model", model);
        o.put("--pretrained", pretrained);
        if (weights != null) {
            o.put("--weights", weights);
        }
        o.put("--data", data);
        o.put("--format", format);
        if (format.equals("folder")) {
            o.put("--test-fraction", String.valueOf(testFraction));
            o.put("--no-augment", String.valueOf(noAugment));
        }
        o.put("--train-blocks", trainBlocks);
        o.put("--epochs", String.valueOf(epochs));
        o.put("--batch", String.valueOf(batch));
        o.put("--lr", String.valueOf(lr));
        o.put("--cosine", String.valueOf(cosine));
        o.put("--clip-grad", String.valueOf(clipGrad));
        o.put("--train-size", String.valueOf(trainSize));
        o.put("--test-size", String.valueOf(testSize));
        o.put("--energy-every", String.valueOf(energyEvery));
        o.put("--seed", String.valueOf(seed));
        o.put("--engine", engine);
        if (checkpointEvery > 0) { // another optimizer: ResumableAdamW
            o.put("--checkpoint-every", String.valueOf(checkpointEvery));
        }
        return o;
    }

    /**
     * The folder of saved models: {@code --out/models}; a child JVM's --out is {@code
     * --out/methods/<method>}, so it saves beside its parent's.
     */
    Path modelsDir() {
        Path root = isolatedChild ? out.toAbsolutePath().getParent().getParent() : out;
        return root.resolve("models");
    }

    /**
     * The folder of checkpoints of methods in progress: {@code --out/checkpoints}, beside the
     * parent's results for a child JVM as {@link #modelsDir}.
     */
    Path checkpointsDir() {
        Path root = isolatedChild ? out.toAbsolutePath().getParent().getParent() : out;
        return root.resolve(ResultStore.CHECKPOINTS);
    }

    /** Runs one method in a child JVM with the same options and reads back its row. */
    private Row runInChild(Method m) throws IOException, InterruptedException {
        Path dir = out.resolve("methods").resolve(Results.folderName(m.getName()));
        System.out.printf(Locale.ROOT, "%n== %s: in a child JVM ==%n", m);
        List<String> args = new ArrayList<>();
        for (Map.Entry<String, String> e : resultOptions().entrySet()) {
            if (e.getKey().equals("--cosine") || e.getKey().equals("--no-augment")) {
                if (Boolean.parseBoolean(e.getValue())) {
                    args.add(e.getKey());
                }
            } else {
                args.add(e.getKey());
                args.add(e.getValue());
            }
        }
        args.addAll(
                List.of(
                        "--cache",
                        cache.toString(),
                        "--methods",
                        m.getName(),
                        "--out",
                        dir.toString(),
                        "--fresh",
                        "--isolated-child"));
        if (save) {
            args.add("--save");
        }
        int rc =
                ChildJvm.of(Adapt.class)
                        .jvmOption("-Xmx" + Runtime.getRuntime().maxMemory() / (1024 * 1024) + "m")
                        .args(args)
                        .runInheritingIo();
        if (rc != 0) {
            throw new IllegalStateException(
                    "method "
                            + m
                            + " failed in its child JVM (exit "
                            + rc
                            + "); see its output above");
        }
        return Results.read(dir.resolve(Results.JSON)).rows().stream()
                .filter(r -> r.method.equals(m.getName()))
                .findFirst()
                .orElseThrow(() -> new IOException(dir + ": no row of " + m));
    }
}
