package io.github.lbpdjl.examples.adapt;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import io.github.lbpdjl.examples.plot.Chart;
import io.github.lbpdjl.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The results of one run: a row per method, written as CSV, JSON, Markdown and PNG plots. */
final class Results {

    /** One method's outcome. */
    static final class Row {
        String method;
        double basisCount;
        long trainableParams;
        long totalParams;
        double backwardMflops;
        double fullBackwardMflops;
        double trainSeconds;
        double stepMillis;
        double peakRssMb;
        double testAccuracy;
        double energyKept;
        List<double[]> lossCurve = new ArrayList<>();

        /** A method whose training diverged: every measure NaN. */
        static Row diverged(String method) {
            Row r = new Row();
            r.method = method + " (diverged)";
            r.basisCount = Double.NaN;
            r.backwardMflops = Double.NaN;
            r.fullBackwardMflops = Double.NaN;
            r.trainSeconds = Double.NaN;
            r.stepMillis = Double.NaN;
            r.peakRssMb = Double.NaN;
            r.testAccuracy = Double.NaN;
            r.energyKept = Double.NaN;
            return r;
        }
    }

    private final List<Row> rows = new ArrayList<>();

    void add(Row r) {
        rows.add(r);
    }

    String markdown() {
        StringBuilder sb = new StringBuilder();
        sb.append(
                "| method | k | trainable params | backward MFLOPs/image | train s | ms/step | peak"
                        + " RSS MB | energy kept | test acc % |\n");
        sb.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (Row r : rows) {
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %s | %d | %.2f | %.1f | %.1f | %.0f | %s | %.2f |%n",
                            r.method,
                            fmtK(r.basisCount),
                            r.trainableParams,
                            r.backwardMflops,
                            r.trainSeconds,
                            r.stepMillis,
                            r.peakRssMb,
                            Double.isNaN(r.energyKept)
                                    ? "-"
                                    : String.format(Locale.ROOT, "%.3f", r.energyKept),
                            100 * r.testAccuracy));
        }
        return sb.toString();
    }

    private static String fmtK(double k) {
        if (Double.isNaN(k)) {
            return "-";
        }
        return k == Math.rint(k) ? String.valueOf((long) k) : String.format(Locale.ROOT, "%.1f", k);
    }

    /**
     * Reads the rows of a results.json written by {@link #write}.
     *
     * @param file the JSON file
     * @return the rows
     * @throws IOException if it cannot be read or is not such a file
     */
    static List<Row> readRows(Path file) throws IOException {
        try {
            Row[] rows =
                    new GsonBuilder()
                            .serializeSpecialFloatingPointValues()
                            .create()
                            .fromJson(Files.readString(file), Row[].class);
            if (rows == null) {
                throw new IOException(file + ": no results");
            }
            return List.of(rows);
        } catch (JsonParseException e) {
            throw new IOException(file + ": not a results.json (" + e.getMessage() + ")", e);
        }
    }

    void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        List<String> csv = new ArrayList<>();
        csv.add(
                "method,k,trainable_params,total_params,backward_mflops_per_image,"
                        + "full_backward_mflops_per_image,"
                        + "train_seconds,step_ms,peak_rss_mb,energy_kept,test_accuracy");
        for (Row r : rows) {
            csv.add(
                    String.format(
                            Locale.ROOT,
                            "%s,%s,%d,%d,%.4f,%.4f,%.2f,%.2f,%.1f,%.4f,%.5f",
                            r.method,
                            fmtK(r.basisCount),
                            r.trainableParams,
                            r.totalParams,
                            r.backwardMflops,
                            r.fullBackwardMflops,
                            r.trainSeconds,
                            r.stepMillis,
                            r.peakRssMb,
                            r.energyKept,
                            r.testAccuracy));
        }
        atomicWrite(dir.resolve("results.csv"), String.join("\n", csv) + "\n");
        atomicWrite(
                dir.resolve("results.json"),
                new GsonBuilder()
                        .setPrettyPrinting()
                        .serializeSpecialFloatingPointValues()
                        .create()
                        .toJson(rows));
        atomicWrite(dir.resolve("results.md"), markdown());
        Chart acc =
                new Chart(
                        "Test accuracy against backward cost",
                        "backward MFLOPs per image (linear layers)",
                        "test accuracy (%)");
        for (Row r : rows) {
            acc.point(r.method, r.backwardMflops, 100 * r.testAccuracy);
        }
        acc.write(dir.resolve("accuracy_vs_flops.png"), 1000, 600);
        Chart loss = new Chart("Training loss", "step", "loss (mean of 10 batches)");
        for (Row r : rows) {
            double[] x = new double[r.lossCurve.size()];
            double[] y = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                x[i] = r.lossCurve.get(i)[0];
                y[i] = r.lossCurve.get(i)[1];
            }
            loss.line(r.method, x, y);
        }
        loss.write(dir.resolve("loss_curves.png"), 1000, 600);
    }

    /** Saves atomically ({@link AtomicFiles}): a failed or killed write loses nothing. */
    static void atomicWrite(Path file, String text) throws IOException {
        AtomicFiles.writeString(file, text);
    }
}
