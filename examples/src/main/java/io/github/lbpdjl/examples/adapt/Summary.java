package io.github.lbpdjl.examples.adapt;

import io.github.lbpdjl.examples.common.Method;
import java.util.List;
import java.util.Locale;

/**
 * The one line that says what a run shows and what it does not: how far LBP-WHT cut the backward
 * FLOPs and the step time against full fine-tuning on this model, and where the speed-ups measured
 * on a model large enough for arithmetic to dominate are.
 */
final class Summary {

    /**
     * Step speed-ups over full backprop measured on ViT-B/16 (batch 8, every block trained, 2 CPU
     * cores, PyTorch): docs/BENCHMARKS.md, "One training step".
     */
    private static final String VIT_B16 =
            "on ViT-B/16 (batch 8, 2 cores, PyTorch) a step was measured 1.48x faster with LP_L1-4"
                    + " and 1.95x with LP_L1-2 (docs/BENCHMARKS.md)";

    private Summary() {}

    /**
     * The summary of a run, comparing full fine-tuning with the first LBP-WHT method.
     *
     * @param model the zoo model the run adapted
     * @param rows the rows
     * @return the line, or null if the run has no full and LBP-WHT rows to compare
     */
    static String line(String model, List<Row> rows) {
        Row full = null;
        Row lbp = null;
        for (Row r : rows) {
            if (r.diverged) {
                continue;
            }
            if (r.method.equals("full") && full == null) {
                full = r;
            } else if (lbp == null && isLbp(r.method)) {
                lbp = r;
            }
        }
        if (full == null || lbp == null || lbp.backwardMflops <= 0) {
            return null;
        }
        double flops = full.backwardMflops / lbp.backwardMflops;
        double step = full.stepMillis / lbp.stepMillis;
        boolean large = model != null && model.contains("base");
        return String.format(
                Locale.ROOT,
                "What this run shows: on %s, %s cuts the backward FLOPs of the trained linear"
                    + " layers %.1fx against full fine-tuning (%.2f -> %.2f MFLOPs/image) but the"
                    + " training step only %.2fx (%.0f -> %.0f ms/step), with test accuracy %.2f%%"
                    + " against %.2f%%. What it does not show: %s.",
                model,
                lbp.method,
                flops,
                full.backwardMflops,
                lbp.backwardMflops,
                step,
                full.stepMillis,
                lbp.stepMillis,
                100 * lbp.testAccuracy,
                100 * full.testAccuracy,
                large
                        ? "accuracy after convergence (docs/RESULTS.md trains 10 epochs)"
                        : "the speed-up on a model large enough for arithmetic, not per-op"
                                + " overhead, to dominate a step: "
                                + VIT_B16);
    }

    private static boolean isLbp(String method) {
        try {
            return Method.parse(method).usesLbp();
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
