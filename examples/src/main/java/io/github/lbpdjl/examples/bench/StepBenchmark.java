package io.github.lbpdjl.examples.bench;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;

import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.examples.Offline;
import io.github.lbpdjl.nn.BackwardFlops;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.training.LbpTrainingListener;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import io.github.lbpdjl.zoo.VitVariant;
import io.github.lbpdjl.zoo.vit.VisionTransformer;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

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

/**
 * Model-level benchmark: one training step (forward, backward, optimizer step) of a zoo ViT with
 * random weights, full backprop against LBP-WHT at several orders, methods alternated within each
 * repetition in one model (LbpLinear with LBP-WHT off is exactly Linear), ratio of medians against
 * the FLOP-count limit. Peak memory is measured per method in a child JVM of its own.
 */
@Command(
        name = "step-benchmark",
        mixinStandardHelpOptions = true,
        description = "Training-step time and peak memory of LBP-WHT against full backprop on a zoo ViT.")
public final class StepBenchmark implements Callable<Integer> {

    @Option(names = "--model", description = "Zoo variant (default: ${DEFAULT-VALUE}).")
    String model = "vit_base_patch16_224";

    @Option(names = "--engine", description = "PyTorch or MXNet (default: ${DEFAULT-VALUE}).")
    String engine = "PyTorch";

    @Option(names = "--batch", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch = 8;

    @Option(names = "--orders", split = ",", description = "LP_L1 orders (default: ${DEFAULT-VALUE}).")
    List<Integer> orders = List.of(1, 2, 4, 6, 8);

    @Option(names = "--train-blocks", description = "'all' or the last N blocks (default: ${DEFAULT-VALUE}).")
    String trainBlocks = "all";

    @Option(names = "--warmup", description = "Warm-up repetitions (default: ${DEFAULT-VALUE}).")
    int warmup = 2;

    @Option(names = "--reps", description = "Measured repetitions (default: ${DEFAULT-VALUE}).")
    int reps = 5;

    @Option(names = "--memory", description = "Also measure each method's peak RSS in a child JVM.")
    boolean memory;

    @Option(names = "--only", hidden = true, description = "Child mode: run one method, print its peak RSS.")
    String only;

    @Option(names = "--csv", description = "Append the results as CSV to this file.")
    Path csv;

    /**
     * Runs the benchmark.
     *
     * @param args see --help
     */
    public static void main(String[] args) {
        Offline.ensure();
        System.exit(new CommandLine(new StepBenchmark()).execute(args));
    }

    private static LbpConfig config(String method) {
        int order = Integer.parseInt(method.substring("LP_L1-".length()));
        return LbpConfig.builder().optSelection(BasisSelection.lowPassL1(order)).build();
    }

    @Override
    public Integer call() throws Exception {
        List<String> methods = new ArrayList<>();
        methods.add("full");
        for (int o : orders) {
            methods.add("LP_L1-" + o);
        }
        if (only != null) {
            methods = List.of(only);
        }
        VitVariant variant = VitVariant.fromName(model);
        Engine eng = Engine.getEngine(engine);
        eng.setRandomSeed(1);
        Map<String, double[]> times = new LinkedHashMap<>();
        VisionTransformer vit;
        try (Model m = Model.newInstance(model, eng.getEngineName())) {
            vit = variant.build();
            m.setBlock(vit);
            int depth = vit.getDepth();
            int n = trainBlocks.equals("all") ? depth : Integer.parseInt(trainBlocks);
            StringBuilder frozen = new StringBuilder("(?!head\\.");
            for (int i = depth - n; i < depth; i++) {
                frozen.append("|blocks\\.").append(i).append("\\.");
            }
            frozen.append(").*");
            LbpTrainingListener.Builder lb = LbpTrainingListener.builder()
                    .optRewriter(LbpRewriter.builder()
                            .optTargets(TargetModules.regex("blocks\\.\\d+\\.(attn\\.qkv|attn\\.proj|mlp\\.fc1|mlp\\.fc2)"))
                            .optLayout(vit.getTokenLayout())
                            .build());
            if (n < depth) {
                lb.optFrozen(TargetModules.regex(frozen.toString()));
            }
            LbpTrainingListener lbp = lb.build();
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(Optimizer.adamW().optLearningRateTracker(Tracker.fixed(1e-4f)).build())
                    .addTrainingListeners(lbp);
            try (Trainer trainer = m.newTrainer(cfg)) {
                trainer.initialize(vit.getInputShape(batch));
                NDManager data = trainer.getManager();
                NDArray x = data.randomNormal(vit.getInputShape(batch));
                NDArray y = data.randomInteger(0, vit.getNumClasses(), new Shape(batch), ai.djl.ndarray.types.DataType.INT32);
                for (String method : methods) {
                    times.put(method, new double[reps]);
                }
                System.out.printf(Locale.ROOT, "%s, %s, batch %d, training %s of %d blocks, %d warm-up + %d measured%n",
                        model, engine, batch, trainBlocks, depth, warmup, reps);
                for (int rep = 0; rep < warmup + reps; rep++) {
                    for (int i = 0; i < methods.size(); i++) {
                        String method = methods.get((i + rep) % methods.size());
                        for (LbpLinear l : lbp.getLayers().values()) {
                            l.setLbpEnabled(!method.equals("full"));
                            if (!method.equals("full")) {
                                l.setConfig(config(method).toBuilder().optLayout(vit.getTokenLayout()).build());
                            }
                        }
                        double ms = step(trainer, data, x, y);
                        if (rep >= warmup) {
                            times.get(method)[rep - warmup] = ms;
                        }
                    }
                }
            }
        }
        if (only != null) {
            System.out.println("PEAK_RSS_MB " + peakRssMb());
            return 0;
        }
        Map<String, Double> peaks = new LinkedHashMap<>();
        if (memory) {
            for (String method : methods) {
                peaks.put(method, childPeak(method));
            }
        }
        report(vit, methods, times, peaks);
        return 0;
    }

    private static double step(Trainer trainer, NDManager data, NDArray x, NDArray y) {
        try (NDManager m = data.newSubManager()) {
            NDArray in = x.duplicate();
            NDArray label = y.duplicate();
            in.attach(m);
            label.attach(m);
            Batch b = new Batch(m, new NDList(in), new NDList(label), 1, null, null, 0, 1);
            long t0 = System.nanoTime();
            EasyTrain.trainBatch(trainer, b);
            trainer.step();
            // read a parameter to wait for asynchronous engines
            trainer.getModel().getBlock().getParameters().valueAt(0).getArray().get(0).toFloatArray();
            return (System.nanoTime() - t0) / 1e6;
        }
    }

    private void report(VisionTransformer vit, List<String> methods, Map<String, double[]> times, Map<String, Double> peaks)
            throws IOException {
        double full = median(times.get("full"));
        double fullFlops = stepFlops(vit, null);
        List<String> rows = new ArrayList<>();
        System.out.printf(Locale.ROOT, "%n%-8s %10s %8s %10s %10s %10s %8s%n", "method", "median ms", "speed-up", "FLOP ratio", "efficiency", "peak MB", "ratio");
        for (String method : methods) {
            double t = median(times.get(method));
            double limit = method.equals("full") ? 1 : stepFlops(vit, config(method)) / fullFlops;
            double ratio = t / full;
            Double peak = peaks.get(method);
            Double fullPeak = peaks.get("full");
            System.out.printf(Locale.ROOT, "%-8s %10.1f %8.2f %10.3f %10.2f %10s %8s%n", method, t, full / t, limit,
                    limit / ratio, peak == null ? "-" : String.format(Locale.ROOT, "%.0f", peak),
                    peak == null || fullPeak == null ? "-" : String.format(Locale.ROOT, "%.3f", peak / fullPeak));
            rows.add(String.format(Locale.ROOT, "%s,%s,%d,%s,%s,%.2f,%.4f,%.4f,%.4f,%s", model, engine, batch, trainBlocks, method,
                    t, ratio, limit, limit / ratio, peak == null ? "" : String.format(Locale.ROOT, "%.1f", peak)));
        }
        if (csv != null) {
            boolean header = !Files.exists(csv);
            List<String> lines = new ArrayList<>();
            if (header) {
                lines.add("model,engine,batch,train_blocks,method,median_ms,time_ratio,flop_ratio,efficiency,peak_rss_mb");
            }
            lines.addAll(rows);
            Files.write(csv, lines, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        }
    }

    /**
     * FLOPs of one training step per sample: forward of every linear layer and attention matmul,
     * and backward through the trained blocks (linear layers full or LBP-WHT, attention matmuls
     * 2x forward). Norms, softmax, GELU and the optimizer are left out.
     */
    private double stepFlops(VisionTransformer vit, LbpConfig config) {
        TokenLayout layout = vit.getTokenLayout();
        long n = layout.getTokenCount();
        long c = vit.getEmbedDim();
        long h = vit.getMlpHiddenDim();
        int depth = vit.getDepth();
        int trained = trainBlocks.equals("all") ? depth : Integer.parseInt(trainBlocks);
        long[][] shapes = {{c, 3 * c}, {c, c}, {c, h}, {h, c}};
        double forward = 0;
        double backward = 0;
        for (int b = 0; b < depth; b++) {
            double attn = 4.0 * n * n * c;
            forward += attn;
            for (long[] s : shapes) {
                BackwardFlops f = BackwardFlops.of(layout, config == null ? LbpConfig.builder().build() : config, s[0], s[1]);
                forward += f.getFull() / 2.0;
                if (b >= depth - trained) {
                    backward += config == null ? f.getFull() : f.getLbp();
                }
            }
            if (b >= depth - trained) {
                backward += 2 * attn;
            }
        }
        return forward + backward;
    }

    private double childPeak(String method) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(Arrays.asList(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"),
                StepBenchmark.class.getName(), "--model", model, "--engine", engine, "--batch", String.valueOf(batch),
                "--train-blocks", trainBlocks, "--warmup", "1", "--reps", "2", "--only", method));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        double peak = Double.NaN;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("PEAK_RSS_MB ")) {
                    peak = Double.parseDouble(line.substring(12).trim());
                }
            }
        }
        if (p.waitFor() != 0) {
            throw new IOException("child JVM for " + method + " exited " + p.exitValue());
        }
        return peak;
    }

    private static double peakRssMb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        return Double.NaN;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
