package io.github.lbpdjl.examples.bench;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.metric.Metric;
import ai.djl.metric.Metrics;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.MemoryTrainingListener;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.examples.Offline;
import io.github.lbpdjl.examples.ProcMemory;
import io.github.lbpdjl.examples.bench.StepFlops.Kind;
import io.github.lbpdjl.examples.plot.Chart;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.peft.LoraConfig;
import io.github.lbpdjl.peft.LoraLinear;
import io.github.lbpdjl.peft.LoraModel;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.training.LbpTrainingListener;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import io.github.lbpdjl.zoo.VitVariant;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Model-level benchmark: one training step (forward, backward, AdamW step) of a zoo ViT with random
 * weights, batch of random images, for full backprop, LBP-WHT LP_L1 at several orders, LoRA and
 * LoRA + LBP-WHT, with every block trained and with only the last blocks trained.
 *
 * <p>Per training setting, full backprop and LBP-WHT share one model (LbpLinear with LBP-WHT off is
 * exactly Linear) and LoRA and LoRA + LBP-WHT another (LoraLinear with its LBP-WHT off is plain
 * LoRA); both start from the same seed. After the warm-up repetitions, each repetition runs every
 * method once, the order rotating, so that drift hits all alike; the table gives the median step
 * time, its ratio to full backprop, the FLOP ratio of the same step ({@link StepFlops}, the limit)
 * and the efficiency limit / measured ratio. With {@code --memory}, each method runs again in a
 * child JVM of its own (one warm-up step, then measured steps) for its peak RSS, the RSS just
 * before the measured steps, DJL's memory metric ({@link MemoryTrainingListener}'s "rss" after
 * backward) and the bytes of the arrays the batch's manager still holds after backward.
 */
@Command(
        name = "step-benchmark",
        mixinStandardHelpOptions = true,
        description =
                "Training-step time and peak memory: full backprop, LBP-WHT, LoRA, LoRA + LBP-WHT"
                        + " on a zoo ViT.")
public final class StepBenchmark implements Callable<Integer> {

    private static final String LINEARS = "(attn\\.qkv|attn\\.proj|mlp\\.fc1|mlp\\.fc2)";

    @Option(names = "--model", description = "Zoo variant (default: ${DEFAULT-VALUE}).")
    String model = "vit_base_patch16_224";

    @Option(names = "--engine", description = "PyTorch or MXNet (default: ${DEFAULT-VALUE}).")
    String engine = "PyTorch";

    @Option(names = "--batch", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch = 8;

    @Option(
            names = "--orders",
            split = ",",
            description = "LP_L1 orders of LBP-WHT (default: ${DEFAULT-VALUE}).")
    List<Integer> orders = List.of(1, 2, 4, 6, 8);

    @Option(
            names = "--lora-rank",
            description =
                    "LoRA rank, alpha = 2 x rank; 0 leaves LoRA out (default: ${DEFAULT-VALUE}).")
    int loraRank = 8;

    @Option(
            names = "--lora-lbp-order",
            description =
                    "LP_L1 order of LoRA + LBP-WHT; 0 leaves it out (default: ${DEFAULT-VALUE}).")
    int loraLbpOrder = 2;

    @Option(
            names = "--train-blocks",
            split = ",",
            description =
                    "Training settings: 'all' or the number of last blocks trained (default:"
                            + " ${DEFAULT-VALUE}).")
    List<String> trainBlocks = List.of("all", "4");

    @Option(names = "--warmup", description = "Warm-up repetitions (default: ${DEFAULT-VALUE}).")
    int warmup = 2;

    @Option(names = "--reps", description = "Measured repetitions (default: ${DEFAULT-VALUE}).")
    int reps = 5;

    @Option(
            names = "--memory",
            description = "Also measure each method's memory in a child JVM of its own.")
    boolean memory;

    @Option(
            names = "--memory-methods",
            split = ",",
            description =
                    "Methods whose memory is measured (default: every method), e.g."
                            + " full,LP_L1-2,lora-8.")
    List<String> memoryMethods;

    @Option(
            names = "--memory-train-blocks",
            split = ",",
            description = "Training settings in which memory is measured (default: every setting).")
    List<String> memoryTrainBlocks;

    @Option(
            names = "--memory-steps",
            description =
                    "Measured steps in each memory child, after one warm-up step (default:"
                            + " ${DEFAULT-VALUE}).")
    int memorySteps = 1;

    @Option(
            names = "--malloc-default",
            description =
                    "Run the memory children with glibc's default malloc settings (by default they"
                        + " get MALLOC_MMAP_THRESHOLD_=65536 so that freed arrays go back to the OS"
                        + " and RSS follows live memory).")
    boolean mallocDefault;

    @Option(names = "--csv", description = "Write the results as CSV to this file.")
    Path csv;

    @Option(
            names = "--png",
            description =
                    "Write a chart (speed-up against k, measured and FLOP limit) to this PNG.")
    Path png;

    @Option(
            names = "--only",
            hidden = true,
            description = "Child mode: run one method, print its memory.")
    String only;

    /**
     * Runs the benchmark.
     *
     * @param args see --help
     */
    public static void main(String[] args) {
        Offline.ensure();
        System.exit(new CommandLine(new StepBenchmark()).execute(args));
    }

    /** One method of the benchmark. */
    static final class Method {
        final String name;
        final Kind kind;
        final int order;

        Method(String name, Kind kind, int order) {
            this.name = name;
            this.kind = kind;
            this.order = order;
        }

        boolean isLora() {
            return kind == Kind.LORA || kind == Kind.LORA_LBP;
        }

        LbpConfig lbp(VisionTransformer vit) {
            return order == 0
                    ? null
                    : LbpConfig.builder()
                            .optSelection(BasisSelection.lowPassL1(order))
                            .optLayout(TokenLayout.of(vit))
                            .build();
        }

        /**
         * @return the number of bases k per 8x8 patch, or 0 without LBP-WHT
         */
        int bases() {
            return order == 0
                    ? 0
                    : LbpConfig.builder()
                            .optSelection(BasisSelection.lowPassL1(order))
                            .build()
                            .getBasisCount();
        }
    }

    List<Method> methods() {
        List<Method> out = new ArrayList<>();
        out.add(new Method("full", Kind.FULL, 0));
        for (int o : orders) {
            out.add(new Method("LP_L1-" + o, Kind.LBP, o));
        }
        if (loraRank > 0) {
            out.add(new Method("lora-" + loraRank, Kind.LORA, 0));
            if (loraLbpOrder > 0) {
                out.add(
                        new Method(
                                "lora-" + loraRank + "+LP_L1-" + loraLbpOrder,
                                Kind.LORA_LBP,
                                loraLbpOrder));
            }
        }
        return out;
    }

    private Method method(String name) {
        for (Method m : methods()) {
            if (m.name.equals(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown method " + name);
    }

    @Override
    public Integer call() throws Exception {
        VitVariant variant = VitVariant.fromName(model);
        if (only != null) {
            return runChild(variant, method(only), trainBlocks.get(0));
        }
        List<Method> methods = methods();
        if (memoryMethods != null) {
            memoryMethods.forEach(this::method); // fails early on a misspelt name
        }
        System.out.printf(
                Locale.ROOT,
                "%s, %s %s, batch %d, %d cores, Java %s; %d warm-up + %d measured repetitions,"
                        + " methods alternated%n",
                model,
                engine,
                Engine.getEngine(engine).getVersion(),
                batch,
                Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.version"),
                warmup,
                reps);
        List<Row> rows = new ArrayList<>();
        for (String setting : trainBlocks) {
            Map<String, Long> trainable = new LinkedHashMap<>();
            Map<String, double[]> times = time(variant, methods, setting, trainable);
            Map<String, Memory> mem = new LinkedHashMap<>();
            if (memory && (memoryTrainBlocks == null || memoryTrainBlocks.contains(setting))) {
                for (Method m : methods) {
                    if (memoryMethods == null || memoryMethods.contains(m.name)) {
                        mem.put(m.name, childMemory(m, setting));
                    }
                }
            }
            rows.addAll(report(variant, methods, setting, times, trainable, mem));
        }
        if (csv != null) {
            writeCsv(rows);
        }
        if (png != null) {
            writeChart(rows);
        }
        return 0;
    }

    /** Times every method of one training setting, alternated within each repetition. */
    private Map<String, double[]> time(
            VitVariant variant, List<Method> methods, String setting, Map<String, Long> trainable) {
        Map<String, double[]> times = new LinkedHashMap<>();
        for (Method m : methods) {
            times.put(m.name, new double[reps]);
        }
        boolean anyLora = methods.stream().anyMatch(Method::isLora);
        boolean anyBase = methods.stream().anyMatch(m -> !m.isLora());
        try (Setup base = anyBase ? new Setup(variant, setting, false, null) : null;
                Setup lora = anyLora ? new Setup(variant, setting, true, null) : null) {
            System.out.printf(
                    Locale.ROOT,
                    "%ntraining %s of %d blocks%n",
                    setting,
                    (base != null ? base : lora).vit.getDepth());
            for (Setup s : new Setup[] {base, lora}) {
                if (s != null) {
                    System.out.println("  " + s.summary);
                }
            }
            for (Method m : methods) {
                trainable.put(m.name, (m.isLora() ? lora : base).trainable);
            }
            for (int rep = 0; rep < warmup + reps; rep++) {
                for (int i = 0; i < methods.size(); i++) {
                    Method m = methods.get((i + rep) % methods.size());
                    double ms = (m.isLora() ? lora : base).step(m);
                    if (rep >= warmup) {
                        times.get(m.name)[rep - warmup] = ms;
                    }
                }
                System.out.printf(
                        Locale.ROOT,
                        "  repetition %d/%d%s done%n",
                        rep + 1,
                        warmup + reps,
                        rep < warmup ? " (warm-up)" : "");
            }
        }
        return times;
    }

    /** A model, its trainer and a fixed batch; full/LBP-WHT or LoRA/LoRA + LBP-WHT. */
    private final class Setup implements AutoCloseable {
        final Model model;
        final VisionTransformer vit;
        final Trainer trainer;
        final String summary;
        final long trainable;
        final NDArray x;
        final NDArray y;
        final LbpTrainingListener lbp;
        final LoraModel loraModel;

        Setup(VitVariant variant, String setting, boolean useLora, List<TrainingListener> extra) {
            Engine eng = Engine.getEngine(engine);
            eng.setRandomSeed(1);
            vit = variant.build();
            int depth = vit.getDepth();
            int n = trained(setting, depth);
            String trainedBlocks = trainedBlocksRegex(depth, n);
            model = Model.newInstance(StepBenchmark.this.model + (useLora ? "-lora" : ""), engine);
            model.setBlock(vit);
            DefaultTrainingConfig cfg =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(
                                    Optimizer.adamW()
                                            .optLearningRateTracker(Tracker.fixed(1e-5f))
                                            .build());
            if (extra != null) {
                extra.forEach(cfg::addTrainingListeners);
            }
            if (useLora) {
                lbp = null;
                vit.initialize(model.getNDManager(), DataType.FLOAT32, vit.getInputShape(batch));
                LoraConfig.Builder lc =
                        LoraConfig.builder()
                                .optRank(loraRank)
                                .optAlpha(2f * loraRank)
                                .optTargets(TargetModules.regex(trainedBlocks + LINEARS))
                                .optModulesToSave("head");
                if (loraLbpOrder > 0) {
                    lc.optLbp(new Method("", Kind.LORA_LBP, loraLbpOrder).lbp(vit));
                }
                loraModel = lc.build().apply(model);
                trainer = model.newTrainer(cfg);
                loraModel.freeze(); // after newTrainer
            } else {
                loraModel = null;
                // LBP-WHT only where gradients are computed: the trained blocks' linear layers
                LbpTrainingListener.Builder lb =
                        LbpTrainingListener.builder()
                                .optRewriter(
                                        LbpRewriter.builder()
                                                .optTargets(
                                                        TargetModules.regex(
                                                                trainedBlocks + LINEARS))
                                                .optLayout(TokenLayout.of(vit))
                                                .build());
                if (n < depth) {
                    lb.optFrozen(TargetModules.regex("(?!head\\.|" + trainedBlocks + ").*"));
                }
                lbp = lb.build();
                cfg.addTrainingListeners(lbp);
                trainer = model.newTrainer(cfg);
                trainer.initialize(vit.getInputShape(batch));
            }
            trainer.setMetrics(new Metrics());
            trainable = countTrainable(model);
            summary =
                    String.format(
                            Locale.ROOT,
                            "%s model: %,d trainable parameters",
                            useLora ? "LoRA" : "base",
                            trainable);
            NDManager data = trainer.getManager();
            x = data.randomNormal(vit.getInputShape(batch));
            y = data.randomInteger(0, vit.getNumClasses(), new Shape(batch), DataType.INT32);
        }

        /** Prepares a method and runs one training step; returns its wall time in ms. */
        double step(Method m) {
            if (m.isLora()) {
                for (LoraLinear l : loraModel.getLayers().values()) {
                    l.setLbpEnabled(m.kind == Kind.LORA_LBP);
                }
            } else {
                LbpConfig config = m.lbp(vit);
                for (LbpLinear l : lbp.getLayers().values()) {
                    l.setLbpEnabled(config != null);
                    if (config != null) {
                        l.setConfig(config);
                    }
                }
            }
            try (NDManager sub = trainer.getManager().newSubManager()) {
                NDArray in = x.duplicate();
                NDArray label = y.duplicate();
                in.attach(sub);
                label.attach(sub);
                Batch b = new Batch(sub, new NDList(in), new NDList(label), 1, null, null, 0, 1);
                long t0 = System.nanoTime();
                EasyTrain.trainBatch(trainer, b);
                trainer.step();
                waitForUpdates(model);
                return (System.nanoTime() - t0) / 1e6;
            }
        }

        @Override
        public void close() {
            trainer.close();
            model.close();
        }
    }

    static int trained(String setting, int depth) {
        if (setting.equals("all")) {
            return depth;
        }
        int n = Integer.parseInt(setting);
        if (n < 1 || n > depth) {
            throw new IllegalArgumentException(
                    "--train-blocks " + setting + ": need 'all' or 1.." + depth);
        }
        return n;
    }

    /**
     * A regex prefix matching paths under the last n of depth blocks, e.g. "blocks\.(8|9|10|11)\.".
     */
    static String trainedBlocksRegex(int depth, int n) {
        StringBuilder sb = new StringBuilder("blocks\\.(");
        for (int i = depth - n; i < depth; i++) {
            sb.append(i == depth - n ? "" : "|").append(i);
        }
        return sb.append(")\\.").toString();
    }

    private static long countTrainable(Model model) {
        long n = 0;
        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
            if (p.getValue().requiresGradient()) {
                n += p.getValue().getArray().size();
            }
        }
        return n;
    }

    /**
     * Reads one value of every trained parameter: waits for asynchronous engines (MXNet) to finish
     * the update.
     */
    private static void waitForUpdates(Model model) {
        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
            if (p.getValue().requiresGradient()) {
                NDArray a = p.getValue().getArray();
                try (NDArray flat = a.reshape(-1);
                        NDArray first = flat.get(0)) {
                    first.getFloat();
                }
            }
        }
    }

    /** Memory of one method in a child JVM. */
    static final class Memory {
        final double peakMb;
        final double beforeMb;
        final double djlRssMb;
        final double heldMb;

        Memory(double peakMb, double beforeMb, double djlRssMb, double heldMb) {
            this.peakMb = peakMb;
            this.beforeMb = beforeMb;
            this.djlRssMb = djlRssMb;
            this.heldMb = heldMb;
        }
    }

    /**
     * Child mode: one warm-up step (gradients and optimizer state exist from then on), then the
     * measured steps with the peak RSS reset before them; prints "MEM peak before djlRss held" in
     * MiB.
     */
    private int runChild(VitVariant variant, Method m, String setting) throws IOException {
        System.setProperty("collect-memory", "true");
        double[] held = {0};
        TrainingListener heldProbe =
                new TrainingListenerAdapter() {
                    @Override
                    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
                        double bytes = 0;
                        for (NDArray a : batchData.getBatch().getManager().getManagedArrays()) {
                            bytes += a.getShape().size() * a.getDataType().getNumOfBytes();
                        }
                        held[0] = Math.max(held[0], bytes / (1 << 20));
                    }
                };
        try (Setup s =
                new Setup(
                        variant,
                        setting,
                        m.isLora(),
                        List.of(new MemoryTrainingListener(), heldProbe))) {
            s.step(m);
            held[0] = 0;
            s.trainer.setMetrics(new Metrics());
            double before = statusMb("VmRSS");
            boolean reset = ProcMemory.resetPeak();
            for (int i = 0; i < memorySteps; i++) {
                s.step(m);
            }
            double peak = statusMb("VmHWM");
            double djlRss = Double.NaN;
            List<Metric> rss = s.trainer.getMetrics().getMetric("rss");
            if (rss != null) {
                for (Metric r : rss) {
                    double v = r.getValue().doubleValue();
                    double mb =
                            r.getUnit() == ai.djl.metric.Unit.KILOBYTES ? v / 1024 : v / (1 << 20);
                    djlRss = Double.isNaN(djlRss) ? mb : Math.max(djlRss, mb);
                }
            }
            System.out.printf(
                    Locale.ROOT,
                    "MEM %.1f %.1f %.1f %.1f%s%n",
                    peak,
                    before,
                    djlRss,
                    held[0],
                    reset ? "" : " noreset");
        }
        return 0;
    }

    private static double statusMb(String key) throws IOException {
        long kib = ProcMemory.statusKib(key);
        return kib < 0 ? Double.NaN : kib / 1024.0;
    }

    private Memory childMemory(Method m, String setting) throws IOException, InterruptedException {
        List<String> cmd =
                new ArrayList<>(
                        Arrays.asList(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-Dai.djl.offline=true",
                                "-cp",
                                System.getProperty("java.class.path"),
                                StepBenchmark.class.getName(),
                                "--model",
                                model,
                                "--engine",
                                engine,
                                "--batch",
                                String.valueOf(batch),
                                "--orders",
                                orders.stream()
                                        .map(String::valueOf)
                                        .collect(Collectors.joining(",")),
                                "--lora-rank",
                                String.valueOf(loraRank),
                                "--lora-lbp-order",
                                String.valueOf(loraLbpOrder),
                                "--train-blocks",
                                setting,
                                "--memory-steps",
                                String.valueOf(memorySteps),
                                "--only",
                                m.name));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        if (!mallocDefault) {
            pb.environment().put("MALLOC_MMAP_THRESHOLD_", "65536");
            pb.environment().put("MALLOC_TRIM_THRESHOLD_", "65536");
        }
        Process p = pb.start();
        Memory out = null;
        List<String> tail = new ArrayList<>();
        try (BufferedReader r =
                new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("MEM ")) {
                    String[] f = line.split(" ");
                    out =
                            new Memory(
                                    Double.parseDouble(f[1]),
                                    Double.parseDouble(f[2]),
                                    Double.parseDouble(f[3]),
                                    Double.parseDouble(f[4]));
                    if (line.endsWith("noreset")) {
                        System.out.println(
                                "  "
                                        + m.name
                                        + ": could not reset VmHWM; its peak includes the set-up");
                    }
                } else {
                    tail.add(line);
                    if (tail.size() > 20) {
                        tail.remove(0);
                    }
                }
            }
        }
        if (p.waitFor() != 0 || out == null) {
            throw new IOException(
                    "memory child for "
                            + m.name
                            + " exited "
                            + p.exitValue()
                            + ":\n"
                            + String.join("\n", tail));
        }
        System.out.printf(
                Locale.ROOT,
                "  memory %s (train %s): peak %.0f MiB%n",
                m.name,
                setting,
                out.peakMb);
        return out;
    }

    /** One result row. */
    static final class Row {
        String setting;
        Method method;
        long trainable;
        double medianMs;
        double minMs;
        double maxMs;
        double timeRatio;
        double flopRatio;
        Memory memory;
        Memory fullMemory;
    }

    private List<Row> report(
            VitVariant variant,
            List<Method> methods,
            String setting,
            Map<String, double[]> times,
            Map<String, Long> trainable,
            Map<String, Memory> mem) {
        VisionTransformer vit = variant.build();
        int n = trained(setting, vit.getDepth());
        double full = Medians.of(times.get("full"));
        double fullFlops = StepFlops.perSample(vit, n, Kind.FULL, null, 0);
        List<Row> rows = new ArrayList<>();
        System.out.printf(
                Locale.ROOT,
                "%n%s, %s, batch %d, training %s of %d blocks%n",
                model,
                engine,
                batch,
                setting,
                vit.getDepth());
        System.out.printf(
                Locale.ROOT,
                "%-16s %3s %10s %8s %8s %10s %10s %9s %7s %9s %9s %9s%n",
                "method",
                "k",
                "median ms",
                "ratio",
                "speed-up",
                "FLOP ratio",
                "efficiency",
                "peak MiB",
                "ratio",
                "step MiB",
                "DJL rss",
                "held MiB");
        for (Method m : methods) {
            Row r = new Row();
            r.setting = setting;
            r.method = m;
            double[] t = times.get(m.name);
            r.medianMs = Medians.of(t);
            r.minMs = Arrays.stream(t).min().orElse(Double.NaN);
            r.maxMs = Arrays.stream(t).max().orElse(Double.NaN);
            r.timeRatio = r.medianMs / full;
            r.flopRatio = StepFlops.perSample(vit, n, m.kind, m.lbp(vit), loraRank) / fullFlops;
            r.memory = mem.get(m.name);
            r.fullMemory = mem.get("full");
            r.trainable = trainable.get(m.name);
            rows.add(r);
            Memory mm = r.memory;
            System.out.printf(
                    Locale.ROOT,
                    "%-16s %3s %10.1f %8.3f %8.2f %10.3f %10.2f %9s %7s %9s %9s %9s%n",
                    m.name,
                    m.bases() == 0 ? "-" : String.valueOf(m.bases()),
                    r.medianMs,
                    r.timeRatio,
                    1 / r.timeRatio,
                    r.flopRatio,
                    r.flopRatio / r.timeRatio,
                    mm == null ? "-" : fmt(mm.peakMb, "%.0f"),
                    mm == null || r.fullMemory == null
                            ? "-"
                            : fmt(mm.peakMb / r.fullMemory.peakMb, "%.3f"),
                    mm == null ? "-" : fmt(mm.peakMb - mm.beforeMb, "%.0f"),
                    mm == null ? "-" : fmt(mm.djlRssMb, "%.0f"),
                    mm == null ? "-" : fmt(mm.heldMb, "%.0f"));
        }
        return rows;
    }

    private static String fmt(double v, String f) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, f, v);
    }

    private void writeCsv(List<Row> rows) throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add(
                "model,engine,batch,train_blocks,method,k,trainable_params,median_ms,min_ms,max_ms,"
                    + "time_ratio,speedup,flop_ratio,efficiency,"
                    + "peak_rss_mib,peak_rss_ratio,rss_before_step_mib,step_mem_mib,step_mem_ratio,"
                    + "djl_rss_mib,djl_held_mib");
        for (Row r : rows) {
            Memory m = r.memory;
            Memory f = r.fullMemory;
            lines.add(
                    String.join(
                            ",",
                            model,
                            engine,
                            String.valueOf(batch),
                            r.setting,
                            r.method.name,
                            String.valueOf(r.method.bases()),
                            String.valueOf(r.trainable),
                            fmt(r.medianMs, "%.2f"),
                            fmt(r.minMs, "%.2f"),
                            fmt(r.maxMs, "%.2f"),
                            fmt(r.timeRatio, "%.4f"),
                            fmt(1 / r.timeRatio, "%.4f"),
                            fmt(r.flopRatio, "%.4f"),
                            fmt(r.flopRatio / r.timeRatio, "%.4f"),
                            m == null ? "" : fmt(m.peakMb, "%.1f"),
                            m == null || f == null ? "" : fmt(m.peakMb / f.peakMb, "%.4f"),
                            m == null ? "" : fmt(m.beforeMb, "%.1f"),
                            m == null ? "" : fmt(m.peakMb - m.beforeMb, "%.1f"),
                            m == null || f == null
                                    ? ""
                                    : fmt(
                                            (m.peakMb - m.beforeMb) / (f.peakMb - f.beforeMb),
                                            "%.4f"),
                            m == null ? "" : fmt(m.djlRssMb, "%.1f"),
                            m == null ? "" : fmt(m.heldMb, "%.1f")));
        }
        if (csv.toAbsolutePath().getParent() != null) {
            Files.createDirectories(csv.toAbsolutePath().getParent());
        }
        Files.write(csv, lines, StandardCharsets.UTF_8);
        System.out.println("\nwrote " + csv);
    }

    /**
     * Speed-up against k: measured and FLOP limit per training setting, LoRA + LBP-WHT as points.
     */
    private void writeChart(List<Row> rows) throws IOException {
        Chart chart =
                new Chart(
                        String.format(
                                Locale.ROOT,
                                "%s, %s, batch %d: training-step speed-up over full backprop",
                                model,
                                engine,
                                batch),
                        "k (bases per 8x8 patch, LP_L1)",
                        "speed-up (full / method)");
        int kMax = methods().stream().mapToInt(Method::bases).max().orElse(1);
        chart.line("full backprop", new double[] {1, Math.max(2, kMax)}, new double[] {1, 1});
        for (String setting : trainBlocks) {
            List<Row> lbp =
                    rows.stream()
                            .filter(r -> r.setting.equals(setting) && r.method.kind == Kind.LBP)
                            .collect(Collectors.toList());
            double[] k = lbp.stream().mapToDouble(r -> r.method.bases()).toArray();
            String label = setting.equals("all") ? "all blocks" : "last " + setting;
            chart.line(
                    "measured, " + label,
                    k,
                    lbp.stream().mapToDouble(r -> 1 / r.timeRatio).toArray());
            chart.line(
                    "FLOP limit, " + label,
                    k,
                    lbp.stream().mapToDouble(r -> 1 / r.flopRatio).toArray());
            for (Row r : rows) {
                if (r.setting.equals(setting) && r.method.kind == Kind.LORA_LBP) {
                    chart.point(r.method.name + ", " + label, r.method.bases(), 1 / r.timeRatio);
                }
            }
        }
        chart.write(png, 1100, 650);
        System.out.println("wrote " + png);
    }
}
