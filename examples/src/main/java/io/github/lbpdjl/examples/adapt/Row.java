package io.github.lbpdjl.examples.adapt;

import java.util.ArrayList;
import java.util.List;

/**
 * One method's outcome, a row of the results. A measure that does not apply or was not taken is
 * null, written as {@code null} in JSON (strict JSON: no NaN), blank in CSV, "-" in Markdown.
 */
final class Row {
    /** The method's name as given, e.g. {@code lbp-l1-4}. */
    String method;

    /** Whether training diverged; then every measure is null. */
    boolean diverged;

    /** Bases k per 8x8 patch; null for head-only training (no token-wise layer trained). */
    Double basisCount;

    long trainableParams;
    long totalParams;
    Double backwardMflops;
    Double fullBackwardMflops;

    /** Training time: the training steps of every epoch, not the evaluation passes. */
    Double trainSeconds;

    /** The median training step (batch and update; warm-up and stalls do not move it). */
    Double stepMillis;

    /** Peak resident set of a JVM that ran this method alone (--isolate), else null. */
    Double peakRssMb;

    Double testAccuracy;

    /** Mean over the LBP layers of the gradient energy kept; null without LBP layers. */
    Double energyKept;

    /** (step, mean loss of the last 10 batches) pairs. */
    List<double[]> lossCurve = new ArrayList<>();

    /**
     * A method whose training diverged: no measures.
     *
     * @param method the method's name
     * @return the row
     */
    static Row diverged(String method) {
        Row r = new Row();
        r.method = method;
        r.diverged = true;
        return r;
    }

    /**
     * The name shown in tables and plots.
     *
     * @return the method, marked if it diverged
     */
    String label() {
        return diverged ? method + " (diverged)" : method;
    }
}
