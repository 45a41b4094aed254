package io.github.lbpdjl.examples.bench;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.PairList;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.examples.Offline;
import io.github.lbpdjl.examples.ProcMemory;
import io.github.lbpdjl.ndarray.Scalars;
import io.github.lbpdjl.peft.LoraConfig;
import io.github.lbpdjl.peft.LoraModel;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
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
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * One training step (forward, backward, SGD update) of a ViT-B/16-shaped encoder stack with random
 * weights, for full fine-tuning, LoRA, LBP-WHT and LoRA + LBP-WHT. Methods alternate within each
 * repetition; the table gives the median step time after warm-up and its ratio to full fine-tuning.
 * Memory is measured per method in a child JVM (same class path, glibc told to return freed
 * memory): the peak RSS of a training step over the RSS before it, and the peak RSS.
 */
@Command(
        name = "peft-benchmark",
        mixinStandardHelpOptions = true,
        description =
                "Training-step time and peak memory: full fine-tuning, LoRA, LBP-WHT, LoRA +"
                        + " LBP-WHT.")
public final class PeftBenchmark implements Callable<Integer> {

    static final String[] ALL_METHODS = {"full", "lora", "lbp", "lora+lbp"};

    @Option(names = "--engine", description = "Engine (default: ${DEFAULT-VALUE}).")
    String engine = "PyTorch";

    @Option(
            names = "--methods",
            split = ",",
            description = "Methods: full, lora, lbp, lora+lbp (default: all).")
    List<String> methods = Arrays.asList(ALL_METHODS);

    @Option(
            names = "--depth",
            description = "Encoder blocks; ViT-B/16 has 12 (default: ${DEFAULT-VALUE}).")
    int depth = 2;

    @Option(names = "--batch", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch = 8;

    @Option(names = "--dim", description = "Embedding dimension (default: ${DEFAULT-VALUE}).")
    int dim = 768;

    @Option(names = "--mlp", description = "MLP hidden dimension (default: ${DEFAULT-VALUE}).")
    int mlp = 3072;

    @Option(names = "--heads", description = "Attention heads (default: ${DEFAULT-VALUE}).")
    int heads = 12;

    @Option(
            names = "--grid",
            description = "Token grid side; tokens = 1 + grid^2 (default: ${DEFAULT-VALUE}).")
    int grid = 14;

    @Option(names = "--rank", description = "LoRA rank (default: ${DEFAULT-VALUE}).")
    int rank = 8;

    @Option(names = "--order", description = "LBP-WHT LP_L1 order (default: ${DEFAULT-VALUE}).")
    int order = 2;

    @Option(
            names = "--warmup",
            description = "Warm-up steps per method (default: ${DEFAULT-VALUE}).")
    int warmup = 2;

    @Option(
            names = "--steps",
            description = "Measured steps per method (default: ${DEFAULT-VALUE}).")
    int steps = 5;

    @Option(names = "--no-memory", description = "Skip the peak-memory runs in child JVMs.")
    boolean noMemory;

    @Option(
            names = "--child",
            hidden = true,
            description = "Internal: run one method and print its memory.")
    String child;

    @Option(names = "--csv", description = "Write the results as CSV to this file.")
    Path csv;

    /**
     * Runs the benchmark.
     *
     * @param args command-line arguments, see --help
     */
    public static void main(String[] args) {
        Offline.ensure();
        System.exit(new CommandLine(new PeftBenchmark()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (child != null) {
            return runChild();
        }
        TokenLayout layout = TokenLayout.grid(1, grid, grid);
        System.out.printf(
                Locale.ROOT,
                "%s %s, %d cores; ViT-B/16-shaped: depth %d, batch %d, %d tokens (%s), dim %d, mlp"
                    + " %d, %d heads; LoRA r=%d alpha=%d on all linear layers but the head; LBP-WHT"
                    + " LP_L1-%d; %d warm-up + %d measured steps per method, alternated%n",
                engine,
                Engine.getEngine(engine).getVersion(),
                Runtime.getRuntime().availableProcessors(),
                depth,
                batch,
                layout.getTokenCount(),
                layout,
                dim,
                mlp,
                heads,
                rank,
                2 * rank,
                order,
                warmup,
                steps);
        Map<String, Setup> setups = new LinkedHashMap<>();
        for (String m : methods) {
            Setup s = new Setup(m);
            setups.put(m, s);
            System.out.println(m + ": " + s.summary);
        }
        Map<String, double[]> times = new LinkedHashMap<>();
        for (String m : methods) {
            times.put(m, new double[steps]);
        }
        for (int rep = 0; rep < warmup + steps; rep++) {
            for (String m : methods) {
                double ms = setups.get(m).step();
                if (rep >= warmup) {
                    times.get(m)[rep - warmup] = ms;
                }
            }
        }
        for (Setup s : setups.values()) {
            s.close();
        }
        Map<String, long[]> mem = new LinkedHashMap<>();
        if (!noMemory) {
            for (String m : methods) {
                mem.put(m, childMemory(m));
            }
        }
        double full = times.containsKey("full") ? Medians.of(times.get("full")) : Double.NaN;
        List<String> rows = new ArrayList<>();
        rows.add(
                "method,trainable_params,median_step_ms,ratio_to_full,"
                        + "step_rss_delta_mib,peak_rss_mib");
        System.out.printf(
                Locale.ROOT,
                "%n| method | trainable params | median step (ms) | ratio to full | step memory:"
                        + " peak RSS - RSS before (MiB) | peak RSS (MiB) |%n");
        System.out.println("| --- | ---: | ---: | ---: | ---: | ---: |");
        for (String m : methods) {
            double med = Medians.of(times.get(m));
            long[] mm = mem.getOrDefault(m, new long[] {-1, -1});
            String delta = mm[0] < 0 ? "n/a" : String.valueOf(mm[0] / 1024);
            String peak = mm[1] < 0 ? "n/a" : String.valueOf(mm[1] / 1024);
            System.out.printf(
                    Locale.ROOT,
                    "| %s | %,d | %.0f | %.3f | %s | %s |%n",
                    m,
                    setups.get(m).trainable,
                    med,
                    med / full,
                    delta,
                    peak);
            rows.add(
                    String.format(
                            Locale.ROOT,
                            "%s,%d,%.3f,%.4f,%s,%s",
                            m,
                            setups.get(m).trainable,
                            med,
                            med / full,
                            delta,
                            peak));
        }
        System.out.println("\nall step times (ms): ");
        times.forEach(
                (k, v) ->
                        System.out.println(
                                "  "
                                        + k
                                        + " "
                                        + Arrays.toString(
                                                Arrays.stream(v).map(Math::round).toArray())));
        if (csv != null) {
            if (csv.getParent() != null) {
                Files.createDirectories(csv.getParent());
            }
            Files.write(csv, rows, StandardCharsets.UTF_8);
            System.out.println("wrote " + csv);
        }
        return 0;
    }

    /**
     * Runs one method in this JVM and prints "MEM delta_kib peak_kib": after one warm-up step
     * (gradient buffers and optimizer state exist from then on), the peak RSS (VmHWM) over two
     * steps minus the RSS just before them, i.e. what one training step adds (activations and
     * temporaries), and the peak RSS itself (weights, gradients, engine included). The parent
     * starts the child with MALLOC_MMAP_THRESHOLD_=65536 so that freed native arrays go back to the
     * OS and RSS follows the live arrays.
     */
    private int runChild() throws Exception {
        try (Setup s = new Setup(child)) {
            s.step();
            long base = ProcMemory.statusKib("VmRSS");
            boolean reset =
                    ProcMemory.resetPeak(); // if not, the peak includes the setup; reported as such
            for (int i = 0; i < 2; i++) {
                s.step();
            }
            long peak = ProcMemory.statusKib("VmHWM");
            System.out.println("MEM " + (peak - base) + " " + peak + (reset ? "" : " noreset"));
        }
        return 0;
    }

    private long[] childMemory(String method) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                java,
                                "-cp",
                                System.getProperty("java.class.path"),
                                "-Dai.djl.offline=true",
                                PeftBenchmark.class.getName(),
                                "--child",
                                method,
                                "--engine",
                                engine,
                                "--depth",
                                "" + depth,
                                "--batch",
                                "" + batch,
                                "--dim",
                                "" + dim,
                                "--mlp",
                                "" + mlp,
                                "--heads",
                                "" + heads,
                                "--grid",
                                "" + grid,
                                "--rank",
                                "" + rank,
                                "--order",
                                "" + order));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("MALLOC_MMAP_THRESHOLD_", "65536");
        pb.environment().put("MALLOC_TRIM_THRESHOLD_", "65536");
        Process p = pb.start();
        long[] out = {-1, -1};
        try (BufferedReader r =
                new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("MEM ")) {
                    String[] f = line.split(" ");
                    out = new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])};
                    if (line.endsWith("noreset")) {
                        System.out.println(method + ": could not reset VmHWM; peak includes setup");
                    }
                }
            }
        }
        if (p.waitFor() != 0) {
            System.out.println(
                    method
                            + ": memory child failed (run with java -cp, not exec:java); no memory"
                            + " figure");
        }
        return out;
    }

    /** One method: its model, trainer and input batch. */
    private final class Setup implements AutoCloseable {
        final Model model;
        final Trainer trainer;
        final String summary;
        final long trainable;
        final Shape input;

        Setup(String method) {
            TokenLayout layout = TokenLayout.grid(1, grid, grid);
            input = new Shape(batch, layout.getTokenCount(), dim);
            Engine.getEngine(engine).setRandomSeed(42);
            model = Model.newInstance(method, engine);
            model.setBlock(new Vit());
            model.getBlock().initialize(model.getNDManager(), DataType.FLOAT32, input);
            LbpConfig lbp =
                    LbpConfig.builder()
                            .optSelection(BasisSelection.lowPassL1(order))
                            .optLayout(layout)
                            .build();
            LoraConfig.Builder lora =
                    LoraConfig.builder().optRank(rank).optAlpha(2f * rank).optModulesToSave("head");
            switch (method) {
                case "full":
                    break;
                case "lora":
                    lora.build().apply(model);
                    break;
                case "lbp":
                    LbpRewriter.builder().optConfig(lbp).build().apply(model);
                    break;
                case "lora+lbp":
                    lora.optLbp(lbp).build().apply(model);
                    break;
                default:
                    throw new IllegalArgumentException(
                            "unknown method " + method + "; use " + Arrays.toString(ALL_METHODS));
            }
            DefaultTrainingConfig cfg =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(
                                    Optimizer.sgd()
                                            .setLearningRateTracker(Tracker.fixed(1e-4f))
                                            .build());
            trainer = model.newTrainer(cfg);
            if (method.startsWith("lora")) {
                LoraModel lm = LoraModel.of(model, lora.build());
                lm.freeze(); // after newTrainer
                summary = lm.trainableParametersSummary();
                trainable = lm.countParameters()[0];
            } else {
                long all =
                        model.getBlock().getParameters().stream()
                                .mapToLong(p -> p.getValue().getShape().size())
                                .sum();
                summary = String.format(Locale.ROOT, "trainable params: %,d (all)", all);
                trainable = all;
            }
        }

        /** One training step; returns its wall time in ms. */
        double step() {
            try (NDManager sub = model.getNDManager().newSubManager()) {
                NDArray x = sub.randomNormal(input);
                NDArray y =
                        sub.randomInteger(0, 1000, new Shape(batch), DataType.INT32)
                                .toType(DataType.FLOAT32, false);
                long t0 = System.nanoTime();
                try (GradientCollector gc = trainer.newGradientCollector()) {
                    NDList pred = trainer.forward(new NDList(x), new NDList(y));
                    NDArray loss = trainer.getLoss().evaluate(new NDList(y), pred);
                    gc.backward(loss);
                }
                trainer.step();
                return (System.nanoTime() - t0) / 1e6;
            }
        }

        @Override
        public void close() {
            trainer.close();
            model.close();
        }
    }

    /**
     * A ViT-B/16-shaped encoder stack (pre-norm blocks) with a 1000-class head on the class token.
     */
    private final class Vit extends AbstractBlock {
        private final SequentialBlock blocks;
        private final LayerNorm norm;
        private final Linear head;

        Vit() {
            blocks = addChildBlock("blocks", new SequentialBlock());
            for (int i = 0; i < depth; i++) {
                blocks.add(new Encoder());
            }
            norm = addChildBlock("norm", LayerNorm.builder().axis(2).build());
            head = addChildBlock("head", Linear.builder().setUnits(1000).build());
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            NDArray x = blocks.forward(ps, in, training).singletonOrThrow();
            x = norm.forward(ps, new NDList(x), training).singletonOrThrow();
            return head.forward(ps, new NDList(x.get(":, 0, :")), training);
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputs) {
            return new Shape[] {new Shape(inputs[0].get(0), 1000)};
        }

        @Override
        protected void initializeChildBlocks(
                NDManager manager, DataType dataType, Shape... inputShapes) {
            blocks.initialize(manager, dataType, inputShapes);
            norm.initialize(manager, dataType, inputShapes);
            head.initialize(manager, dataType, new Shape(inputShapes[0].get(0), dim));
        }
    }

    /** Pre-norm block: x + proj(attn(qkv(norm1 x))), then x + fc2(gelu(fc1(norm2 x))). */
    private final class Encoder extends AbstractBlock {
        private final LayerNorm norm1 = LayerNorm.builder().axis(2).build();
        private final Linear qkv = Linear.builder().setUnits(3L * dim).build();
        private final Linear proj = Linear.builder().setUnits(dim).build();
        private final LayerNorm norm2 = LayerNorm.builder().axis(2).build();
        private final Linear fc1 = Linear.builder().setUnits(mlp).build();
        private final Linear fc2 = Linear.builder().setUnits(dim).build();

        Encoder() {
            addChildBlock("norm1", norm1);
            addChildBlock("qkv", qkv);
            addChildBlock("proj", proj);
            addChildBlock("norm2", norm2);
            addChildBlock("fc1", fc1);
            addChildBlock("fc2", fc2);
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
            NDArray x = in.singletonOrThrow();
            long b = x.getShape().get(0);
            long n = x.getShape().get(1);
            long hd = dim / heads;
            NDArray h = norm1.forward(ps, new NDList(x), training).singletonOrThrow();
            NDArray t =
                    qkv.forward(ps, new NDList(h), training)
                            .singletonOrThrow()
                            .reshape(b, n, 3, heads, hd)
                            .transpose(2, 0, 3, 1, 4);
            NDArray q = t.get(0);
            NDArray k = t.get(1);
            NDArray v = t.get(2);
            NDArray att =
                    Scalars.mul(q.matMul(k.transpose(0, 1, 3, 2)), 1.0 / Math.sqrt(hd)).softmax(3);
            NDArray o = att.matMul(v).transpose(0, 2, 1, 3).reshape(b, n, dim);
            x = x.add(proj.forward(ps, new NDList(o), training).singletonOrThrow());
            h = norm2.forward(ps, new NDList(x), training).singletonOrThrow();
            h = Activation.gelu(fc1.forward(ps, new NDList(h), training).singletonOrThrow());
            return new NDList(x.add(fc2.forward(ps, new NDList(h), training).singletonOrThrow()));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputs) {
            return inputs;
        }

        @Override
        protected void initializeChildBlocks(
                NDManager manager, DataType dataType, Shape... inputShapes) {
            Shape s = inputShapes[0];
            norm1.initialize(manager, dataType, s);
            qkv.initialize(manager, dataType, s);
            proj.initialize(manager, dataType, s);
            norm2.initialize(manager, dataType, s);
            fc1.initialize(manager, dataType, s);
            fc2.initialize(manager, dataType, new Shape(s.get(0), s.get(1), mlp));
        }
    }
}
