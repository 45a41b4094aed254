package io.github.lbpdjl.examples.adapt;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.AdamW;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.CosineTracker;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.examples.Offline;
import io.github.lbpdjl.nn.BackwardFlops;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.peft.LoraConfig;
import io.github.lbpdjl.peft.LoraLinear;
import io.github.lbpdjl.peft.LoraModel;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.training.LbpTrainingListener;
import io.github.lbpdjl.wht.TokenLayout;
import io.github.lbpdjl.zoo.VitModelLoader;
import io.github.lbpdjl.zoo.VitModelZoo;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The main job: load a ViT from the zoo through Criteria, adapt it to a data set with one or more
 * methods under the same recipe and seed, evaluate, and write CSV, JSON, Markdown and PNG plots.
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

    private static final String LINEARS = "\\.(attn\\.qkv|attn\\.proj|mlp\\.fc1|mlp\\.fc2)";

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
        for (Method m : list) {
            if (isolate) {
                for (Results.Row r : runInChild(m)) {
                    results.add(r);
                }
                continue;
            }
            try {
                results.add(run(m, train, test));
            } catch (ai.djl.TrainingDivergedException e) {
                System.out.printf(
                        Locale.ROOT,
                        "== %s: training diverged (%s); recorded as such ==%n",
                        m,
                        e.getMessage());
                results.add(Results.Row.diverged(m.name));
            }
        }
        results.write(out);
        System.out.println();
        System.out.println(results.markdown());
        System.out.println("wrote " + out.toAbsolutePath());
        return 0;
    }

    /** Runs one method in a child JVM with the same options and reads back its row. */
    private List<Results.Row> runInChild(Method m)
            throws java.io.IOException, InterruptedException {
        Path dir = out.resolve("methods").resolve(m.name.replaceAll("[^a-z0-9.+-]", "_"));
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                ProcessHandle.current().info().command().orElse("java"),
                                "-Xmx" + Runtime.getRuntime().maxMemory() / (1024 * 1024) + "m",
                                "-cp",
                                System.getProperty("java.class.path"),
                                Adapt.class.getName(),
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
                                m.name,
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
            cmd.addAll(List.of("--weights", weights));
        }
        if (cosine) {
            cmd.add("--cosine");
        }
        System.out.printf(Locale.ROOT, "%n== %s: in a child JVM ==%n", m);
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        int rc = p.waitFor();
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

    private ImageData load(boolean trainSplit) throws java.io.IOException {
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

    private Results.Row run(Method method, ImageData train, ImageData test) throws Exception {
        Engine eng = Engine.getEngine(engine);
        eng.setRandomSeed(seed);
        Criteria.Builder<NDList, NDList> cb =
                Criteria.builder()
                        .setTypes(NDList.class, NDList.class)
                        .optGroupId(VitModelZoo.GROUP_ID)
                        .optArtifactId(model)
                        .optEngine(engine)
                        .optArgument(VitModelLoader.ARG_NUM_CLASSES, train.classes)
                        .optArgument(VitModelLoader.ARG_IN_CHANNELS, train.channels)
                        .optArgument(VitModelLoader.ARG_SEED, seed);
        if (weights != null) {
            cb.optArgument(VitModelLoader.ARG_WEIGHTS, Fetch.file(weights, cache).toString());
        } else if (!"none".equals(pretrained)) {
            cb.optArgument(VitModelLoader.ARG_PRETRAINED, pretrained);
        }
        try (ZooModel<NDList, NDList> zm = cb.build().loadModel()) {
            VisionTransformer vit = (VisionTransformer) zm.getBlock();
            List<Integer> blocks = trainedBlocks(vit.getDepth());
            TokenLayout layout = TokenLayout.of(vit);
            LbpTrainingListener.Builder lb = LbpTrainingListener.builder();
            LoraModel lora = null;
            if (method.usesLora()) {
                // PEFT's recipe: the base model frozen, LoRA on the blocks' linear layers, the head
                // trained
                LoraConfig.Builder lc =
                        LoraConfig.builder()
                                .optRank(method.rank)
                                .optTargets(TargetModules.regex(blockRegex(blocks) + LINEARS))
                                .optModulesToSave("head");
                if (method.kind == Method.Kind.LORA_LBP) {
                    lc.optLbp(
                            LbpConfig.builder()
                                    .optSelection(method.selection)
                                    .optLayout(layout)
                                    .build());
                }
                lora = LoraModel.apply(zm, lc.build());
            } else {
                lb.optFrozen(frozen(method, blocks));
            }
            if (method.usesLbp()) {
                lb.optRewriter(
                        LbpRewriter.builder()
                                .optTargets(TargetModules.regex(blockRegex(blocks) + LINEARS))
                                .optConfig(method.lbpConfig())
                                .optLayout(layout)
                                .build());
                lb.optEnergySampling(energyEvery);
                if (method.kind == Method.Kind.ENERGY) {
                    lb.optEnergyAdaptive(method.energyTarget, 21, 20);
                }
            }
            LbpTrainingListener lbp = lb.build();
            LossCurve curve = new LossCurve();
            int totalSteps = epochs * ((train.count + batch - 1) / batch);
            Tracker schedule =
                    cosine
                            ? CosineTracker.builder()
                                    .setBaseValue(lr)
                                    .optFinalValue(lr / 100)
                                    .setMaxUpdates(totalSteps)
                                    .build()
                            : Tracker.fixed(lr);
            AdamW.Builder ob =
                    Optimizer.adamW().optLearningRateTracker(schedule).optWeightDecays(1e-5f);
            if (clipGrad > 0) {
                ob.optClipGrad(clipGrad);
            }
            DefaultTrainingConfig cfg =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(ob.build())
                            .addEvaluator(new Accuracy())
                            .addTrainingListeners(TrainingListener.Defaults.logging())
                            .addTrainingListeners(lbp, curve);
            RssSampler rss = new RssSampler();
            long start;
            long steps;
            Results.Row row = new Results.Row();
            try (Trainer trainer = zm.newTrainer(cfg);
                    NDManager dm = trainer.getManager().newSubManager()) {
                trainer.setMetrics(
                        new ai.djl.metric
                                .Metrics()); // DJL logs loss and accuracy per epoch only with
                // metrics
                if (lora != null) {
                    lora.freeze(); // newTrainer unfreezes a loaded PyTorch model
                }
                trainer.initialize(vit.getInputShape(batch));
                ArrayDataset trainSet = dataset(dm, train, true);
                ArrayDataset testSet = dataset(dm, test, false);
                System.out.printf(
                        Locale.ROOT,
                        "%n== %s: training %s ==%n",
                        method,
                        method.kind == Method.Kind.HEAD
                                ? "the head only"
                                : trainBlocks + " of " + vit.getDepth() + " blocks");
                rss.start();
                start = System.nanoTime();
                EasyTrain.fit(trainer, epochs, trainSet, testSet);
                long nanos = System.nanoTime() - start;
                rss.stop();
                steps = (long) epochs * ((train.count + batch - 1) / batch);
                row.testAccuracy = accuracy(trainer, testSet);
                row.trainSeconds = nanos / 1e9;
                row.stepMillis = nanos / 1e6 / steps;
                row.trainableParams = trainable(vit);
                row.totalParams = total(vit);
                row.backwardMflops = backwardMflops(vit, blocks, layout, method);
                row.fullBackwardMflops = backwardMflops(vit, blocks, layout, null);
                row.basisCount =
                        method.usesLbp()
                                ? meanBasisCount(lbp)
                                : method.kind == Method.Kind.LORA_LBP
                                        ? method.selection.count(8)
                                        : 64;
                row.peakRssMb = rss.peakMb();
                row.energyKept =
                        lbp.getLastEnergyKept().values().stream()
                                .mapToDouble(Double::doubleValue)
                                .average()
                                .orElse(Double.NaN);
            }
            row.method = method.name;
            row.lossCurve = curve.points;
            System.out.printf(
                    Locale.ROOT,
                    "== %s: test accuracy %.2f%%, backward %.2f MFLOPs/image, %.1f ms/step ==%n",
                    method,
                    100 * row.testAccuracy,
                    row.backwardMflops,
                    row.stepMillis);
            return row;
        }
    }

    private List<Integer> trainedBlocks(int depth) {
        List<Integer> out = new ArrayList<>();
        int n = trainBlocks.equals("all") ? depth : Integer.parseInt(trainBlocks);
        if (n < 0 || n > depth) {
            throw new IllegalArgumentException(
                    "--train-blocks " + trainBlocks + ": the model has " + depth + " blocks");
        }
        for (int i = depth - n; i < depth; i++) {
            out.add(i);
        }
        return out;
    }

    private static String blockRegex(List<Integer> blocks) {
        StringBuilder sb = new StringBuilder("blocks\\.(");
        for (int i = 0; i < blocks.size(); i++) {
            sb.append(i == 0 ? "" : "|").append(blocks.get(i));
        }
        return sb.append(')').toString();
    }

    /**
     * The paper's recipe for every method: norm layers frozen, head trained; with all blocks the
     * embeddings train too, with the last N only those blocks; head-only trains the head alone.
     */
    private TargetModules frozen(Method method, List<Integer> blocks) {
        if (method.kind == Method.Kind.HEAD) {
            return TargetModules.regex("(?!head\\.).*");
        }
        String norms = "|.*norm[0-9]*\\..*";
        if (trainBlocks.equals("all")) {
            return TargetModules.regex("(?!.)" + norms); // nothing but norms
        }
        if (blocks.isEmpty()) {
            return TargetModules.regex("(?!head\\.).*");
        }
        return TargetModules.regex("(?!" + blockRegex(blocks) + "\\.|head\\.).*" + norms);
    }

    private ArrayDataset dataset(NDManager m, ImageData d, boolean shuffle) {
        NDArray x = m.create(d.images, new Shape(d.count, d.channels, d.size, d.size));
        NDArray y = m.create(d.labels);
        return new ArrayDataset.Builder()
                .setData(x)
                .optLabels(y)
                .setSampling(batch, shuffle)
                .build();
    }

    private static double accuracy(Trainer trainer, ArrayDataset test) throws Exception {
        long correct = 0;
        long n = 0;
        for (Batch b : trainer.iterateDataset(test)) {
            NDArray pred = trainer.evaluate(b.getData()).singletonOrThrow().argMax(1);
            NDArray label = b.getLabels().singletonOrThrow().toType(pred.getDataType(), false);
            correct += pred.eq(label).sum().getLong();
            n += label.size();
            b.close();
        }
        return (double) correct / n;
    }

    private static long trainable(Block block) {
        long n = 0;
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (p.getValue().requiresGradient() && p.getValue().isInitialized()) {
                n += p.getValue().getArray().size();
            }
        }
        return n;
    }

    private static long total(Block block) {
        long n = 0;
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (p.getValue().isInitialized()) {
                n += p.getValue().getArray().size();
            }
        }
        return n;
    }

    /** Backward MFLOPs per image of the token-wise linear layers of the trained blocks. */
    private static double backwardMflops(
            VisionTransformer vit, List<Integer> blocks, TokenLayout layout, Method method) {
        if (method != null && method.kind == Method.Kind.HEAD) {
            return 0;
        }
        double total = 0;
        for (Map.Entry<String, Block> e : vit.namedModules().entrySet()) {
            if (!(e.getValue() instanceof Linear)
                    || !e.getKey().matches(blockRegex(blocks) + "\\..*")) {
                continue;
            }
            Shape w = e.getValue().getParameters().get("weight").getShape();
            if (method != null && e.getValue() instanceof LoraLinear) {
                LoraLinear l = (LoraLinear) e.getValue();
                total +=
                        BackwardFlops.lora(
                                        layout, l.getLbpConfig(), w.get(1), w.get(0), l.getRank())
                                / 1e6;
                continue;
            }
            LbpConfig c =
                    e.getValue() instanceof LbpLinear && method != null
                            ? ((LbpLinear) e.getValue()).getConfig()
                            : LbpConfig.builder().build();
            BackwardFlops f = BackwardFlops.of(layout, c, w.get(1), w.get(0));
            total += (method != null && method.usesLbp() ? f.getLbp() : f.getFull()) / 1e6;
        }
        return total;
    }

    private static double meanBasisCount(LbpTrainingListener lbp) {
        return lbp.getLayers().values().stream()
                .mapToInt(l -> l.getConfig().getBasisCount())
                .average()
                .orElse(Double.NaN);
    }

    /** Records the training loss every 10 batches (mean over them). */
    static final class LossCurve extends TrainingListenerAdapter {
        final List<double[]> points = new ArrayList<>();
        private double sum;
        private int n;
        private int step;
        private int epoch;
        private int epochSteps;
        private double epochLoss;
        private long epochStart = System.nanoTime();

        @Override
        public void onEpoch(Trainer trainer) {
            epoch++;
            System.out.printf(
                    Locale.ROOT,
                    "epoch %d: train loss %.4f, %.1f ms/step%n",
                    epoch,
                    epochLoss / Math.max(1, epochSteps),
                    (System.nanoTime() - epochStart) / 1e6 / Math.max(1, epochSteps));
            epochSteps = 0;
            epochLoss = 0;
            epochStart = System.nanoTime();
        }

        @Override
        public void onTrainingBatch(Trainer trainer, BatchData batchData) {
            for (ai.djl.Device d : batchData.getLabels().keySet()) {
                float l =
                        trainer.getLoss()
                                .evaluate(
                                        batchData.getLabels().get(d),
                                        batchData.getPredictions().get(d))
                                .getFloat();
                sum += l;
                epochLoss += l;
                n++;
            }
            step++;
            epochSteps++;
            if (step % 10 == 0) {
                points.add(new double[] {step, sum / n});
                sum = 0;
                n = 0;
            }
        }
    }
}
