package io.github.lbpdjl.examples.bench;

import static io.github.lbpdjl.examples.bench.StepRow.fmt;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Writes the rows of the training-step benchmark as CSV, one line per method and setting. */
final class StepCsv {

    static final String HEADER =
            "model,engine,batch,train_blocks,method,k,trainable_params,median_ms,min_ms,max_ms,"
                    + "time_ratio,speedup,flop_ratio,efficiency,"
                    + "peak_rss_mib,peak_rss_ratio,rss_before_step_mib,step_mem_mib,"
                    + "step_mem_ratio,djl_rss_mib,djl_held_mib";

    private StepCsv() {}

    /**
     * Writes the file, creating its folder.
     *
     * @param csv the file
     * @param config the benchmark's settings
     * @param rows the rows
     * @throws IOException if it cannot be written
     */
    static void write(Path csv, StepConfig config, List<StepRow> rows) throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add(HEADER);
        for (StepRow r : rows) {
            lines.add(line(config, r));
        }
        if (csv.toAbsolutePath().getParent() != null) {
            Files.createDirectories(csv.toAbsolutePath().getParent());
        }
        Files.write(csv, lines, StandardCharsets.UTF_8);
        System.out.println("\nwrote " + csv);
    }

    private static String line(StepConfig config, StepRow r) {
        StepMemory m = r.memory;
        StepMemory f = r.fullMemory;
        return String.join(
                ",",
                config.model(),
                config.engine(),
                String.valueOf(config.batch()),
                r.setting,
                r.method.getName(),
                String.valueOf(r.method.getBasisCount()),
                String.valueOf(r.trainable),
                fmt(r.medianMs, "%.2f"),
                fmt(r.minMs, "%.2f"),
                fmt(r.maxMs, "%.2f"),
                fmt(r.timeRatio, "%.4f"),
                fmt(1 / r.timeRatio, "%.4f"),
                fmt(r.flopRatio, "%.4f"),
                fmt(r.flopRatio / r.timeRatio, "%.4f"),
                m == null ? "" : fmt(m.peakMb(), "%.1f"),
                m == null || f == null ? "" : fmt(m.peakMb() / f.peakMb(), "%.4f"),
                m == null ? "" : fmt(m.beforeMb(), "%.1f"),
                m == null ? "" : fmt(m.peakMb() - m.beforeMb(), "%.1f"),
                m == null || f == null
                        ? ""
                        : fmt((m.peakMb() - m.beforeMb()) / (f.peakMb() - f.beforeMb()), "%.4f"),
                m == null ? "" : fmt(m.djlRssMb(), "%.1f"),
                m == null ? "" : fmt(m.heldMb(), "%.1f"));
    }
}
