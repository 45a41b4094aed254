package io.github.lbpdjl.examples.bench;

import io.github.lbpdjl.examples.common.Method;
import java.util.Locale;

/** One result of the training-step benchmark: a method in a training setting. */
final class StepRow {
    String setting;
    Method method;
    long trainable;
    double medianMs;
    double minMs;
    double maxMs;
    double timeRatio;
    double flopRatio;

    /** The method's memory, or null when not measured. */
    StepMemory memory;

    /** Full backprop's memory in the same setting, or null when not measured. */
    StepMemory fullMemory;

    /** Formats a value, or returns "" for NaN. */
    static String fmt(double v, String f) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, f, v);
    }
}
