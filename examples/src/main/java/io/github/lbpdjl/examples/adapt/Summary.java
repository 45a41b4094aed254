package io.github.lbpdjl.examples.adapt;

import io.github.lbpdjl.examples.common.Method;
import java.util.List;
import java.util.Locale;

/**
 * The one line that says what a run shows and what it does not: how far LBP-WHT cut the backward
 * FLOPs against full fine-tuning on this model, at what accuracy, what its step times are worth
 * (timed one method after the other, not side by side), and where the speed-ups measured on a model
 * whose linear layers dominate the step are.
 */
final class Summary {

    /**
     * Step speed-ups over full backprop measured on ViT-B/16 (batch 8, every block trained, 2 CPU
     * cores, PyTorch): docs/BENCHMARKS.md, "One training step".
     */
    private static final String VIT_B16 =
            "on ViT-B/16 (batch 8, 2 cores, PyTorch) a step was measured 1.48x faster with LP_L1-4"
                    + " and 1.95x with LP_L1-2 (docs/BENCHMARKS.md)";

    /** A step of the micro model, timed side by side (methods alternated) against full backprop. */
    private static final String MICRO =
            "a step with LP_L1-4 is only ~1.1x faster than full backprop, its 64-wide linear layers"
                    + " being a small part of it";

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
        boolean micro = model != null && model.startsWith("vit_micro");
        return String.format(
                Locale.ROOT,
                "What this run shows: on %s, %s cuts the backward FLOPs of the trained token-wise"
                        + " layers %.1fx (%.2f -> %.2f MFLOPs/image) for %.2f%% test accuracy"
                        + " against full fine-tuning's %.2f%%; its median step took %.0f against"
                        + " %.0f ms (%.2fx), the methods timed one after the other under whatever"
                        + " load the machine had%s. What it does not show: %s.",
                model,
                lbp.method,
                flops,
                full.backwardMflops,
                lbp.backwardMflops,
                100 * lbp.testAccuracy,
                100 * full.testAccuracy,
                lbp.stepMillis,
                full.stepMillis,
                step,
                micro ? "; timed side by side (bash .ci/bench --smoke) " + MICRO : "",
                micro
                        ? "the speed-up on a model whose linear layers dominate the step: "
                                + VIT_B16
                        : "a side-by-side step time (bash .ci/bench --model " + model + ")");
    }

    private static boolean isLbp(String method) {
        try {
            return Method.parse(method).usesLbp();
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
