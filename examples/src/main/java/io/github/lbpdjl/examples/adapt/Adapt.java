package io.github.lbpdjl.examples.adapt;

import ai.djl.TrainingDivergedException;
import io.github.lbpdjl.examples.common.ChildJvm;
import io.github.lbpdjl.examples.common.Method;
import io.github.lbpdjl.examples.common.Offline;
import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The main job: load a ViT from the zoo through Criteria, adapt it to a data set with one or more
 * methods under the same recipe and seed, evaluate, and write CSV, JSON, Markdown and PNG plots.
 * Each method's run is an {@link Adaptation}; with {@code --isolate} each runs in a child JVM of
 * its own ({@link ChildJvm}), which writes its row for this program to merge.
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
                    "A .safetensors (timm or Hugging Face names) or DJL .params file: a local path,"
                            + " or a URL to download once into --cache.")
    String weights;

    @Option(
            names = "--data",
            description =
                    "Data folder, or (IDX only) a base URL serving the four gzipped IDX files,"
                            + " downloaded once into --cache (default: ${DEFAULT-VALUE}).")
    String data = "/usr/share/datasets/fashion-mnist";

    @Option(
            names = "--cache",
            description =
                    "Where URLs given to --weights and --data are downloaded (default:"
                            + " ${DEFAULT-VALUE}).")
    Path cache = Paths.get(System.getProperty("user.home"), ".cache", "lbp-djl");

    @Option(
            names = "--format",
            description = "idx, cifar10 or cifar100 (default: ${DEFAULT-VALUE}).")
    String format = "idx";

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

    @Option(names = "--out", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out = Paths.get("output", "adapt");

    /**
     * Runs the program.
     *
     * @param args see --help
     */
    public static void main(String[] args) {
        Offline.ensure();
        System.exit(new CommandLine(new Adapt()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        List<Method> list = new ArrayList<>();
        for (String m : sweep ? List.of(SWEEP.split(",")) : methods) {
            list.add(Method.parse(m));
        }
        ImageData train = load(true).head(trainSize);
        ImageData test = load(false).head(testSize);
        System.out.printf(
                Locale.ROOT,
                "%s (%s) from %s: %d training and %d test images; %s%n",
                model,
                pretrained,
                data,
                train.count,
                test.count,
                list);
        Results results = new Results();
        Adaptation adaptation = new Adaptation(this);
        for (Method m : list) {
            if (isolate) {
                for (Results.Row r : runInChild(m)) {
                    results.add(r);
                }
                continue;
            }
            try {
                results.add(adaptation.run(m, train, test));
            } catch (TrainingDivergedException e) {
                System.out.printf(
                        Locale.ROOT,
                        "== %s: training diverged (%s); recorded as such ==%n",
                        m,
                        e.getMessage());
                results.add(Results.Row.diverged(m.getName()));
            }
        }
        results.write(out);
        System.out.println();
        System.out.println(results.markdown());
        System.out.println("wrote " + out.toAbsolutePath());
        return 0;
    }

    /** Runs one method in a child JVM with the same options and reads back its row. */
    private List<Results.Row> runInChild(Method m) throws IOException, InterruptedException {
        Path dir = out.resolve("methods").resolve(m.getName().replaceAll("[^a-z0-9.+-]", "_"));
        System.out.printf(Locale.ROOT, "%n== %s: in a child JVM ==%n", m);
        int rc =
                ChildJvm.of(Adapt.class)
                        .jvmOption("-Xmx" + Runtime.getRuntime().maxMemory() / (1024 * 1024) + "m")
                        .args(childArgs(m, dir))
                        .runInheritingIo();
        if (rc != 0) {
            throw new IllegalStateException(
                    "method "
                            + m
                            + " failed in its child JVM (exit "
                            + rc
                            + "); see its output above");
        }
        return Results.readRows(dir.resolve("results.json"));
    }

    /** This run's options for one method, written to {@code dir}. */
    private List<String> childArgs(Method m, Path dir) {
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "--model",
                                model,
                                "--pretrained",
                                pretrained,
                                "--data",
                                data,
                                "--format",
                                format,
                                "--cache",
                                cache.toString(),
                                "--methods",
                                m.getName(),
                                "--train-blocks",
                                trainBlocks,
                                "--epochs",
                                String.valueOf(epochs),
                                "--batch",
                                String.valueOf(batch),
                                "--lr",
                                String.valueOf(lr),
                                "--clip-grad",
                                String.valueOf(clipGrad),
                                "--train-size",
                                String.valueOf(trainSize),
                                "--test-size",
                                String.valueOf(testSize),
                                "--energy-every",
                                String.valueOf(energyEvery),
                                "--seed",
                                String.valueOf(seed),
                                "--engine",
                                engine,
                                "--out",
                                dir.toString()));
        if (weights != null) {
            args.addAll(List.of("--weights", weights));
        }
        if (cosine) {
            args.add("--cosine");
        }
        return args;
    }

    private ImageData load(boolean trainSplit) throws IOException {
        switch (format) {
            case "idx":
                return ImageData.idx(Fetch.idxFolder(data, cache), trainSplit);
            case "cifar10":
            case "cifar100":
                if (Fetch.isUrl(data)) {
                    throw new IllegalArgumentException(
                            "--data "
                                    + data
                                    + ": a URL is supported for IDX data sets; download and extract"
                                    + " CIFAR, then pass its folder");
                }
                return ImageData.cifar(Path.of(data), trainSplit, format.equals("cifar100"), true);
            default:
                throw new IllegalArgumentException(
                        "unknown --format " + format + "; use idx, cifar10 or cifar100");
        }
    }
}
