package io.github.lbpdjl.examples.bench;

import static io.github.lbpdjl.examples.bench.StepRow.fmt;

import io.github.lbpdjl.examples.common.Medians;
import io.github.lbpdjl.examples.common.Method;
import io.github.lbpdjl.examples.common.TrainedPart;
import io.github.lbpdjl.wht.TokenLayout;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The result rows of one training setting, printed as a table: median step time, its ratio to full
 * backprop, the FLOP ratio of the same step ({@link StepFlops}, the limit), the efficiency limit /
 * measured ratio and, where measured, the memory.
 */
final class StepReport {

    private StepReport() {}

    /**
     * Builds and prints the rows of one setting.
     *
     * @param config the benchmark's settings
     * @param methods the methods, in order
     * @param setting 'all', or the number of last blocks trained
     * @param times the step times and trainable parameters
     * @param memory the memory by method name, where measured
     * @return the rows
     */
    static List<StepRow> rows(
            StepConfig config,
            List<Method> methods,
            String setting,
            StepTimer.Times times,
            Map<String, StepMemory> memory) {
        TrainedPart part = TrainedPart.of(config.model(), setting);
        // the FLOP limit is counted for ViTs only (StepFlops)
        VisionTransformer vit =
                part.isVit() ? (VisionTransformer) TrainedPart.build(config.model()) : null;
        int n = part.getUnits().size();
        double full = Medians.of(times.millis.get("full"));
        double fullFlops =
                vit == null ? Double.NaN : StepFlops.perSample(vit, n, Method.Kind.FULL, null, 0);
        List<StepRow> rows = new ArrayList<>();
        System.out.printf(
                Locale.ROOT,
                "%n%s, %s, batch %d, training %s%n",
                config.model(),
                config.engine(),
                config.batch(),
                part.describe());
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
            StepRow r = new StepRow();
            r.setting = setting;
            r.method = m;
            double[] t = times.millis.get(m.getName());
            r.medianMs = Medians.of(t);
            r.minMs = Arrays.stream(t).min().orElse(Double.NaN);
            r.maxMs = Arrays.stream(t).max().orElse(Double.NaN);
            r.timeRatio = r.medianMs / full;
            double flops =
                    vit == null
                            ? Double.NaN
                            : StepFlops.perSample(
                                    vit,
                                    n,
                                    m.getKind(),
                                    m.lbpConfig(TokenLayout.of(vit)),
                                    m.getRank());
            r.flopRatio = flops / fullFlops;
            r.memory = memory.get(m.getName());
            r.fullMemory = memory.get("full");
            r.trainable = times.trainable.get(m.getName());
            rows.add(r);
            print(r);
        }
        return rows;
    }

    private static void print(StepRow r) {
        StepMemory mm = r.memory;
        int k = r.method.getBasisCount();
        System.out.printf(
                Locale.ROOT,
                "%-16s %3s %10.1f %8.3f %8.2f %10s %10s %9s %7s %9s %9s %9s%n",
                r.method.getName(),
                k == 0 ? "-" : String.valueOf(k),
                r.medianMs,
                r.timeRatio,
                1 / r.timeRatio,
                Double.isNaN(r.flopRatio) ? "-" : fmt(r.flopRatio, "%.3f"),
                Double.isNaN(r.flopRatio) ? "-" : fmt(r.flopRatio / r.timeRatio, "%.2f"),
                mm == null ? "-" : fmt(mm.peakMb(), "%.0f"),
                mm == null || r.fullMemory == null
                        ? "-"
                        : fmt(mm.peakMb() / r.fullMemory.peakMb(), "%.3f"),
                mm == null ? "-" : fmt(mm.peakMb() - mm.beforeMb(), "%.0f"),
                mm == null ? "-" : fmt(mm.djlRssMb(), "%.0f"),
                mm == null ? "-" : fmt(mm.heldMb(), "%.0f"));
    }
}
