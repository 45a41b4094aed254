package io.github.lbpdjl.examples.bench;

import io.github.lbpdjl.examples.common.Method;
import io.github.lbpdjl.examples.plot.Chart;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The chart of the training-step benchmark: speed-up over full backprop against k, measured and
 * FLOP limit per training setting, LoRA + LBP-WHT as points.
 */
final class StepChart {

    private StepChart() {}

    /**
     * Draws the chart.
     *
     * @param png the file
     * @param config the benchmark's settings
     * @param settings the training settings, in order
     * @param rows the rows of every setting
     * @throws IOException if it cannot be written
     */
    static void write(Path png, StepConfig config, List<String> settings, List<StepRow> rows)
            throws IOException {
        Chart chart =
                new Chart(
                        String.format(
                                Locale.ROOT,
                                "%s, %s, batch %d: training-step speed-up over full backprop",
                                config.model(),
                                config.engine(),
                                config.batch()),
                        "k (bases per 8x8 patch, LP_L1)",
                        "speed-up (full / method)");
        int kMax = config.methods().stream().mapToInt(Method::getBasisCount).max().orElse(1);
        chart.line("full backprop", new double[] {1, Math.max(2, kMax)}, new double[] {1, 1});
        for (String setting : settings) {
            List<StepRow> lbp =
                    rows.stream()
                            .filter(
                                    r ->
                                            r.setting.equals(setting)
                                                    && r.method.getKind() == Method.Kind.LBP)
                            .collect(Collectors.toList());
            double[] k = lbp.stream().mapToDouble(r -> r.method.getBasisCount()).toArray();
            String label = setting.equals("all") ? "all" : "last " + setting;
            chart.line(
                    "measured, " + label,
                    k,
                    lbp.stream().mapToDouble(r -> 1 / r.timeRatio).toArray());
            if (lbp.stream().noneMatch(r -> Double.isNaN(r.flopRatio))) {
                chart.line(
                        "FLOP limit, " + label,
                        k,
                        lbp.stream().mapToDouble(r -> 1 / r.flopRatio).toArray());
            }
            for (StepRow r : rows) {
                if (r.setting.equals(setting) && r.method.getKind() == Method.Kind.LORA_LBP) {
                    chart.point(
                            r.method.getName() + ", " + label,
                            r.method.getBasisCount(),
                            1 / r.timeRatio);
                }
            }
        }
        chart.write(png, 1100, 650);
        System.out.println("wrote " + png);
    }
}
