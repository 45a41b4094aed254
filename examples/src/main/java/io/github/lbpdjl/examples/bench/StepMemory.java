package io.github.lbpdjl.examples.bench;

import io.github.lbpdjl.examples.common.ChildJvm;
import java.io.IOException;
import java.util.Locale;

/**
 * The memory of one method, measured in a child JVM of its own ({@link MemoryProbe}), and the line
 * in which the child reports it to the parent: {@code "MEM peak before djlRss held"} in MiB, with
 * {@code " noreset"} appended when the peak could not be reset before the measured steps.
 *
 * @param peakMb the peak RSS of the measured steps
 * @param beforeMb the RSS just before them
 * @param djlRssMb DJL's memory metric ({@code MemoryTrainingListener}'s "rss" after backward)
 * @param heldMb the bytes of the arrays the batch's manager still holds after backward, in MiB
 */
record StepMemory(double peakMb, double beforeMb, double djlRssMb, double heldMb) {

    private static final String PREFIX = "MEM ";
    private static final String NO_RESET = " noreset";

    /**
     * Returns the line a child prints.
     *
     * @param reset whether the peak was reset before the measured steps
     */
    String line(boolean reset) {
        return String.format(
                Locale.ROOT,
                PREFIX + "%.1f %.1f %.1f %.1f%s",
                peakMb,
                beforeMb,
                djlRssMb,
                heldMb,
                reset ? "" : NO_RESET);
    }

    /** Returns whether a line of a child's output is its report. */
    static boolean isReport(String line) {
        return line.startsWith(PREFIX);
    }

    /** Returns whether a report says that the peak includes the set-up. */
    static boolean notReset(String report) {
        return report.endsWith(NO_RESET);
    }

    /** Parses a child's report. */
    static StepMemory parse(String report) {
        String[] f = report.split(" ");
        return new StepMemory(
                Double.parseDouble(f[1]),
                Double.parseDouble(f[2]),
                Double.parseDouble(f[3]),
                Double.parseDouble(f[4]));
    }

    /**
     * Runs a memory child and reads its report.
     *
     * @param child the child JVM, running {@link MemoryProbe} for one method
     * @param method the method's name, for messages
     * @return the memory it reported
     * @throws IOException if the child fails or reports nothing
     * @throws InterruptedException if interrupted while waiting
     */
    static StepMemory measure(ChildJvm child, String method)
            throws IOException, InterruptedException {
        StepMemory[] out = {null};
        ChildJvm.Finished done =
                child.run(
                        line -> {
                            if (isReport(line)) {
                                out[0] = parse(line);
                                if (notReset(line)) {
                                    System.out.println(
                                            "  "
                                                    + method
                                                    + ": could not reset VmHWM; its peak includes"
                                                    + " the set-up");
                                }
                            }
                        });
        if (done.exitCode() != 0 || out[0] == null) {
            throw new IOException(
                    "memory child for "
                            + method
                            + " exited "
                            + done.exitCode()
                            + ":\n"
                            + String.join("\n", done.tail()));
        }
        return out[0];
    }
}
