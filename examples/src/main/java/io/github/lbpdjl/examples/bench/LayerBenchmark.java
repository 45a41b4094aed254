package io.github.lbpdjl.examples.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.engine.ProjectionForms;
import io.github.lbpdjl.examples.common.Medians;
import io.github.lbpdjl.examples.common.Offline;
import io.github.lbpdjl.nn.BackwardFlops;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.TokenLayout;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Layer-level benchmark: forward + backward of each ViT-B/16 linear layer shape (qkv 768 -> 2304,
 * proj 768 -> 768, fc1 768 -> 3072, fc2 3072 -> 768), LbpLinear at several LP_L1 orders against
 * DJL's Linear, on each engine, methods alternated within each repetition; ratio of medians against
 * the layer's FLOP ratio ({@link BackwardFlops#getStepRatio()}, the limit). {@code --layout} and
 * shapes such as {@code 48x192} time other token grids; {@code --forms} times the dense and the
 * factored projection side by side.
 */
@Command(
        name = "layer-benchmark",
        mixinStandardHelpOptions = true,
        description = "Forward+backward time of LbpLinear against Linear, side by side in one run.")
public final class LayerBenchmark implements Callable<Integer> {

    /** ViT-B/16 linear shapes: name, C_in, C_out. */
    private static final Object[][] SHAPES = {
        {"qkv", 768, 2304}, {"proj", 768, 768}, {"fc1", 768, 3072}, {"fc2", 3072, 768}
    };

    @Option(names = "--engines", split = ",", description = "Engines (default: ${DEFAULT-VALUE}).")
    List<String> engines = List.of("PyTorch", "MXNet");

    @Option(
            names = "--layers",
            split = ",",
            description =
                    "Layers of ViT-B: qkv, proj, fc1, fc2, or a shape C_INxC_OUT such as 48x192"
                            + " (default: ${DEFAULT-VALUE}).")
    List<String> layers = List.of("qkv", "proj", "fc1", "fc2");

    @Option(
            names = "--layout",
            split = ",",
            description =
                    "Token layout E,H,W: E extra tokens and an H x W grid"
                            + " (default: ${DEFAULT-VALUE}, ViT-B/16).")
    List<Integer> layoutArgs = List.of(1, 14, 14);

    @Option(
            names = "--forms",
            split = ",",
            description =
                    "Projection forms to time side by side: AUTO, DENSE, FACTORED"
                            + " (default: ${DEFAULT-VALUE}).")
    List<ProjectionForms.Form> forms = List.of(ProjectionForms.Form.AUTO);

    @Option(
            names = "--orders",
            split = ",",
            description = "LP_L1 orders; 15 = all 64 bases (default: ${DEFAULT-VALUE}).")
    List<Integer> orders = List.of(1, 2, 4, 6, 8, 15);

    @Option(names = "--batch", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch = 8;

    @Option(names = "--warmup", description = "Warm-up repetitions (default: ${DEFAULT-VALUE}).")
    int warmup = 3;

    @Option(names = "--reps", description = "Measured repetitions (default: ${DEFAULT-VALUE}).")
    int reps = 15;

    private static final boolean PROFILE = Boolean.getBoolean("lbp.profile");
    private static final List<Double> FORWARD_MS = new ArrayList<>();

    private final Map<String, ProjectionForms.Form> formOf = new LinkedHashMap<>();

    @Option(names = "--csv", description = "Write the results as CSV to this file.")
    Path csv;

    /**
     * Runs the benchmark.
     *
     * @param args command-line arguments, see --help
     */
    public static void main(String[] args) {
        Offline.ensure();
        System.exit(new CommandLine(new LayerBenchmark()).execute(args));
    }

    @Override
    public Integer call() throws IOException {
        if (layoutArgs.size() != 3) {
            throw new IllegalArgumentException("--layout takes E,H,W, got " + layoutArgs);
        }
        TokenLayout layout =
                TokenLayout.grid(layoutArgs.get(0), layoutArgs.get(1), layoutArgs.get(2));
        List<String> rows = new ArrayList<>();
        rows.add(
                "engine,layer,c_in,c_out,batch,tokens,selection,k,median_ms,linear_median_ms,"
                        + "ratio,flop_limit,efficiency");
        System.out.printf(
                Locale.ROOT,
                "%s, batch %d, %d tokens (%s), %d warm-up + %d measured repetitions%n",
                System.getProperty("os.arch"),
                batch,
                layout.getTokenCount(),
                layout,
                warmup,
                reps);
        for (String engine : engines) {
            for (String layerName : layers) {
                Object[] shape = findShape(layerName);
                int cin = (Integer) shape[1];
                int cout = (Integer) shape[2];
                Map<String, Block> blocks = new LinkedHashMap<>();
                Map<String, LbpConfig> configs = new LinkedHashMap<>();
                blocks.put("Linear", Linear.builder().setUnits(cout).build());
                for (int order : orders) {
                    LbpConfig c =
                            LbpConfig.builder()
                                    .optSelection(BasisSelection.lowPassL1(order))
                                    .optLayout(layout)
                                    .build();
                    for (ProjectionForms.Form form : forms) {
                        String key = "LP_L1-" + order;
                        if (forms.size() > 1) {
                            key += "/" + form.name().toLowerCase(Locale.ROOT);
                        }
                        configs.put(key, c);
                        formOf.put(key, form);
                        blocks.put(key, LbpLinear.builder().setUnits(cout).optConfig(c).build());
                    }
                }
                Map<String, double[]> times =
                        time(engine, blocks, new Shape(batch, layout.getTokenCount(), cin));
                double linear = Medians.of(times.get("Linear"));
                System.out.printf(
                        Locale.ROOT,
                        "%n%s %s %d -> %d: Linear median %.2f ms%n",
                        engine,
                        layerName,
                        cin,
                        cout,
                        linear);
                System.out.printf(
                        Locale.ROOT,
                        "  %-18s %4s %10s %8s %10s%n",
                        "selection",
                        "k",
                        "median ms",
                        "ratio",
                        "FLOP limit");
                for (Map.Entry<String, LbpConfig> e : configs.entrySet()) {
                    double m = Medians.of(times.get(e.getKey()));
                    double limit = BackwardFlops.of(layout, e.getValue(), cin, cout).getStepRatio();
                    int k = e.getValue().getBasisCount();
                    System.out.printf(
                            Locale.ROOT,
                            "  %-18s %4d %10.2f %8.3f %10.3f%n",
                            e.getKey(),
                            k,
                            m,
                            m / linear,
                            limit);
                    rows.add(
                            String.format(
                                    Locale.ROOT,
                                    "%s,%s,%d,%d,%d,%d,%s,%d,%.3f,%.3f,%.4f,%.4f,%.4f",
                                    engine,
                                    layerName,
                                    cin,
                                    cout,
                                    batch,
                                    layout.getTokenCount(),
                                    e.getKey(),
                                    k,
                                    m,
                                    linear,
                                    m / linear,
                                    limit,
                                    limit / (m / linear)));
                }
            }
        }
        if (csv != null) {
            if (csv.getParent() != null) {
                Files.createDirectories(csv.getParent());
            }
            Files.write(csv, rows, StandardCharsets.UTF_8);
            System.out.println("\nwrote " + csv);
        }
        return 0;
    }

    private static Object[] findShape(String name) {
        for (Object[] s : SHAPES) {
            if (s[0].equals(name)) {
                return s;
            }
        }
        if (name.matches("\\d+x\\d+")) {
            String[] io = name.split("x");
            return new Object[] {name, Integer.valueOf(io[0]), Integer.valueOf(io[1])};
        }
        throw new IllegalArgumentException(
                "unknown layer " + name + "; use qkv, proj, fc1, fc2 or C_INxC_OUT");
    }

    /** Times forward + backward of every block, alternating blocks within each repetition. */
    private Map<String, double[]> time(String engine, Map<String, Block> blocks, Shape input) {
        Map<String, double[]> times = new LinkedHashMap<>();
        try (NDManager base = Engine.getEngine(engine).newBaseManager()) {
            Engine.getEngine(engine).setRandomSeed(42);
            for (Block b : blocks.values()) {
                b.initialize(base, DataType.FLOAT32, input);
            }
            NDArray x = base.randomNormal(input);
            for (String key : blocks.keySet()) {
                times.put(key, new double[reps]);
            }
            List<String> order = new ArrayList<>(blocks.keySet());
            for (int rep = 0; rep < warmup + reps; rep++) {
                // rotate the order so that no method always runs first
                for (int i = 0; i < order.size(); i++) {
                    String key = order.get((i + rep) % order.size());
                    ProjectionForms.setForm(formOf.getOrDefault(key, ProjectionForms.Form.AUTO));
                    double ms = step(base, blocks.get(key), x);
                    if (PROFILE && rep == warmup + reps - 1) {
                        System.out.printf(
                                Locale.ROOT,
                                "  profile %s: forward %.1f ms of %.1f ms%n",
                                key,
                                FORWARD_MS.get(FORWARD_MS.size() - 1),
                                ms);
                    }
                    if (rep >= warmup) {
                        times.get(key)[rep - warmup] = ms;
                    }
                }
            }
        }
        return times;
    }

    private static double step(NDManager base, Block block, NDArray x) {
        try (NDManager m = base.newSubManager()) {
            NDArray in = x.duplicate();
            in.attach(m);
            in.setRequiresGradient(true);
            long t0 = System.nanoTime();
            try (GradientCollector gc = m.getEngine().newGradientCollector()) {
                NDArray y =
                        block.forward(new ParameterStore(m, false), new NDList(in), true)
                                .singletonOrThrow();
                if (PROFILE) {
                    y.get(0, 0, 0).getFloat();
                    FORWARD_MS.add((System.nanoTime() - t0) / 1e6);
                }
                gc.backward(y.sum());
            }
            // reading a value waits for asynchronous engines (MXNet) to finish the backward
            in.getGradient().get(0, 0, 0).getFloat();
            block.getParameters().get("weight").getArray().getGradient().get(0, 0).getFloat();
            return (System.nanoTime() - t0) / 1e6;
        }
    }
}
