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
import io.github.lbpdjl.engine.ProjectionArrays;
import io.github.lbpdjl.examples.common.Medians;
import io.github.lbpdjl.examples.common.Offline;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.wht.BasisSelection;
import io.github.lbpdjl.wht.PatchProjection;
import io.github.lbpdjl.wht.TokenLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Where the time of one LbpLinear layer goes: its forward and its forward + backward against
 * Linear's, and, timed alone, each operation an LBP-WHT layer must run at the least (the exact
 * forward GEMM, the projections, the backward GEMMs on E + kP rows) and each one the autograd
 * formulation adds to them (the hook GEMM {@code W (Q x)}, the full-size correction term, the GEMM
 * reading it). The sum of the first group over Linear's time is what a fused operation could reach;
 * all operations alternate within each repetition. PyTorch only: the formulation measured is
 * PyTorch's (the correction passed as the full-shape bias of addmm).
 */
@Command(
        name = "layer-breakdown",
        mixinStandardHelpOptions = true,
        description = "Per-operation times of one LbpLinear layer against Linear, side by side.")
public final class LayerBreakdown implements Callable<Integer> {

    private static final String ENGINE = "PyTorch";

    @Option(
            names = "--in",
            description = "Input features (default: ${DEFAULT-VALUE}, fc1 of ViT-B).")
    int in = 768;

    @Option(names = "--out", description = "Output features (default: ${DEFAULT-VALUE}).")
    int out = 3072;

    @Option(names = "--order", description = "LP_L1 order (default: ${DEFAULT-VALUE}).")
    int order = 2;

    @Option(names = "--batch", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch = 8;

    @Option(names = "--warmup", description = "Warm-up repetitions (default: ${DEFAULT-VALUE}).")
    int warmup = 3;

    @Option(names = "--reps", description = "Measured repetitions (default: ${DEFAULT-VALUE}).")
    int reps = 11;

    /**
     * Runs the breakdown.
     *
     * @param args command-line arguments, see --help
     */
    public static void main(String[] args) {
        Offline.ensure();
        System.exit(new CommandLine(new LayerBreakdown()).execute(args));
    }

    @Override
    public Integer call() {
        TokenLayout layout = TokenLayout.grid(1, 14, 14);
        LbpConfig config =
                LbpConfig.builder()
                        .optSelection(BasisSelection.lowPassL1(order))
                        .optLayout(layout)
                        .build();
        Shape shape = new Shape(batch, layout.getTokenCount(), in);
        Engine e = Engine.getEngine(ENGINE);
        try (NDManager base = e.newBaseManager()) {
            e.setRandomSeed(42);
            Linear linear = Linear.builder().setUnits(out).build();
            LbpLinear lbp = LbpLinear.builder().setUnits(out).optConfig(config).build();
            linear.initialize(base, DataType.FLOAT32, shape);
            lbp.initialize(base, DataType.FLOAT32, shape);
            NDArray x = base.randomNormal(shape);
            NDArray xg = x.duplicate();
            xg.setRequiresGradient(true);
            NDArray w = lbp.getParameters().get("weight").getArray().stopGradient();
            NDArray b = lbp.getParameters().get("bias").getArray().stopGradient();
            ProjectionArrays p =
                    ProjectionArrays.create(
                            PatchProjection.of(
                                    layout,
                                    config.getPatchSize(),
                                    config.getSelection(),
                                    config.getPadding()),
                            base,
                            DataType.FLOAT32);
            long m = p.getGather().getShape().get(0);
            NDArray q = p.getGather();
            NDArray qT = q.transpose().duplicate();
            NDArray spreadWithOnesT = p.getSpreadTWithOnes(); // (N, M + 1)
            NDArray spreadWithOnes = spreadWithOnesT.transpose().duplicate();
            NDArray gy = base.randomNormal(new Shape(batch, layout.getTokenCount(), out));
            NDArray qx = q.matMul(x);
            NDArray g = spreadWithOnes.matMul(gy).get(":, :" + m + ", :"); // (B, M, O): Qs gy
            NDArray gFlat = g.reshape(batch * m, out).duplicate();
            NDArray qxFlat = qx.reshape(batch * m, in);
            NDArray gqx = g.duplicate().matMul(w);
            NDArray rows = base.randomNormal(new Shape(batch, m + 1, out));
            NDArray correction =
                    spreadWithOnesT.matMul(rows).reshape(batch * layout.getTokenCount(), out);
            NDArray xFlat = x.reshape(batch * layout.getTokenCount(), in);

            Map<String, Function<NDManager, Object>> ops = new LinkedHashMap<>();
            ops.put("Linear forward", mm -> block(mm, linear, xg, false));
            ops.put("Linear forward + backward", mm -> block(mm, linear, xg, true));
            ops.put("LbpLinear forward", mm -> block(mm, lbp, xg, false));
            ops.put("LbpLinear forward + backward", mm -> block(mm, lbp, xg, true));
            // the least an LBP-WHT layer computes
            ops.put("exact forward x W^T + b", mm -> Linear.linear(xFlat, w, b).singletonOrThrow());
            ops.put("Q x", mm -> q.matMul(x));
            ops.put("Qs gy (with bias sum)", mm -> spreadWithOnes.matMul(gy));
            ops.put("weight grad (Qs gy)^T (Q x)", mm -> gFlat.transpose().matMul(qxFlat));
            ops.put("input coefficients (Qs gy) W", mm -> gFlat.matMul(w));
            ops.put("input grad Q^T (...)", mm -> qT.matMul(gqx));
            // what the autograd formulation adds
            ops.put("+ hook GEMM W (Q x)", mm -> Linear.linear(qx, w).singletonOrThrow());
            ops.put("+ correction [Qs^T|1] [d;b]", mm -> spreadWithOnesT.matMul(rows));
            ops.put(
                    "+ forward GEMM with full bias",
                    mm -> Linear.linear(xFlat, w, correction).singletonOrThrow());

            Map<String, double[]> times = new LinkedHashMap<>();
            ops.keySet().forEach(k -> times.put(k, new double[reps]));
            List<String> names = new ArrayList<>(ops.keySet());
            for (int rep = 0; rep < warmup + reps; rep++) {
                for (int i = 0; i < names.size(); i++) {
                    String name = names.get((i + rep) % names.size());
                    double ms = time(base, ops.get(name));
                    if (rep >= warmup) {
                        times.get(name)[rep - warmup] = ms;
                    }
                }
            }
            report(times, linear, shape);
        }
        return 0;
    }

    private void report(Map<String, double[]> times, Block linear, Shape shape) {
        System.out.printf(
                Locale.ROOT,
                "%s, %d -> %d, input %s, LP_L1-%d, medians of %d after %d warm-up%n",
                ENGINE,
                in,
                out,
                shape,
                order,
                reps,
                warmup);
        Map<String, Double> med = new LinkedHashMap<>();
        times.forEach((k, v) -> med.put(k, Medians.of(v)));
        double linearStep = med.get("Linear forward + backward");
        for (Map.Entry<String, Double> en : med.entrySet()) {
            System.out.printf(
                    Locale.ROOT,
                    "  %-34s %8.2f ms %7.3f of Linear's step%n",
                    en.getKey(),
                    en.getValue(),
                    en.getValue() / linearStep);
        }
        double least =
                med.get("exact forward x W^T + b")
                        + med.get("Q x")
                        + med.get("Qs gy (with bias sum)")
                        + med.get("weight grad (Qs gy)^T (Q x)")
                        + med.get("input coefficients (Qs gy) W")
                        + med.get("input grad Q^T (...)");
        double surrogate =
                least
                        + med.get("+ hook GEMM W (Q x)")
                        + med.get("+ correction [Qs^T|1] [d;b]")
                        + med.get("+ forward GEMM with full bias")
                        - med.get("exact forward x W^T + b");
        System.out.printf(
                Locale.ROOT,
                "  least an LBP-WHT layer runs (sum)   %8.2f ms %7.3f%n",
                least,
                least / linearStep);
        System.out.printf(
                Locale.ROOT,
                "  the same + autograd formulation     %8.2f ms %7.3f%n",
                surrogate,
                surrogate / linearStep);
        System.out.printf(
                Locale.ROOT,
                "  LbpLinear measured                  %8.2f ms %7.3f%n",
                med.get("LbpLinear forward + backward"),
                med.get("LbpLinear forward + backward") / linearStep);
    }

    /**
     * Forward (and backward) of a block in training mode; gradients to the input (which requires
     * them) and the weight.
     */
    private static Object block(NDManager m, Block block, NDArray x, boolean backward) {
        try (GradientCollector gc = m.getEngine().newGradientCollector()) {
            NDArray y =
                    block.forward(new ParameterStore(m, false), new NDList(x), true)
                            .singletonOrThrow();
            if (!backward) {
                return y;
            }
            gc.backward(y.sum());
        }
        NDArray grad = x.getGradient();
        grad.attach(m);
        return grad;
    }

    private static double time(NDManager base, Function<NDManager, Object> op) {
        try (NDManager m = base.newSubManager()) {
            long t0 = System.nanoTime();
            NDArray r = (NDArray) op.apply(m);
            r.flatten().get(0).getFloat(); // waits for asynchronous engines
            return (System.nanoTime() - t0) / 1e6;
        }
    }
}
