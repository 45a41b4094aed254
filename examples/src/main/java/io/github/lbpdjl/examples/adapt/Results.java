package io.github.lbpdjl.examples.adapt;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import io.github.lbpdjl.examples.plot.Chart;
import io.github.lbpdjl.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The results of one set of options: the options that produced them and a row per finished method.
 * {@code results.json} holds both (strict JSON: a measure not taken is null, never NaN); CSV,
 * Markdown and the PNG plots are written from it. Every file is written atomically ({@link
 * AtomicFiles}), results.json first, so that a killed run leaves the rows of its finished methods.
 */
final class Results {

    /** The file that holds the options and rows; the others are derived from it. */
    static final String JSON = "results.json";

    /** Every file {@link #write} writes. */
    static final List<String> FILES =
            List.of(JSON, "results.csv", "results.md", "accuracy_vs_flops.png", "loss_curves.png");

    private static final Gson GSON =
            new GsonBuilder().setPrettyPrinting().serializeNulls().create();

    /** The options that change results (see {@link Adapt#resultOptions}), as given. */
    private Map<String, String> options = new LinkedHashMap<>();

    private List<Row> rows = new ArrayList<>();

    /**
     * Creates empty results of some options.
     *
     * @param options the options that change results
     * @return the results, no rows yet
     */
    static Results of(Map<String, String> options) {
        Results r = new Results();
        r.options = new LinkedHashMap<>(options);
        return r;
    }

    Map<String, String> options() {
        return options;
    }

    List<Row> rows() {
        return rows;
    }

    void add(Row r) {
        rows.add(r);
    }

    /** Whether a method has a row (finished, or diverged). */
    boolean has(String method) {
        return rows.stream().anyMatch(r -> r.method.equals(method));
    }

    /**
     * Reads a results.json written by {@link #write}.
     *
     * @param file the file
     * @return its options and rows
     * @throws IOException if it cannot be read or is not such a file
     */
    static Results read(Path file) throws IOException {
        try {
            Results r = GSON.fromJson(Files.readString(file), Results.class);
            if (r == null || r.options == null || r.rows == null) {
                throw new IOException(file + ": no options and rows");
            }
            for (Row row : r.rows) {
                if (row == null || row.method == null) {
                    throw new IOException(file + ": a row without a method");
                }
            }
            return r;
        } catch (JsonParseException e) {
            throw new IOException(file + ": not a results.json (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Writes results.json, then CSV, Markdown and, when there are rows, the plots; each atomically.
     *
     * @param dir the folder
     * @throws IOException if a file cannot be written
     */
    void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        AtomicFiles.writeString(dir.resolve(JSON), GSON.toJson(this));
        AtomicFiles.writeString(dir.resolve("results.csv"), csv());
        AtomicFiles.writeString(dir.resolve("results.md"), markdown());
        Chart acc =
                new Chart(
                        "Test accuracy against backward cost: " + caption(),
                        "backward MFLOPs per image (token-wise layers of the trained part)",
                        "test accuracy (%)");
        Chart loss = new Chart("Training loss: " + caption(), "step", "loss (mean of 10 batches)");
        int points = 0;
        for (Row r : rows) {
            if (r.diverged) {
                continue;
            }
            acc.point(r.method, r.backwardMflops, 100 * r.testAccuracy);
            double[] x = new double[r.lossCurve.size()];
            double[] y = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                x[i] = r.lossCurve.get(i)[0];
                y[i] = r.lossCurve.get(i)[1];
            }
            loss.line(r.method, x, y);
            points++;
        }
        if (points > 0) {
            acc.write(dir.resolve("accuracy_vs_flops.png"), 1000, 600);
            loss.write(dir.resolve("loss_curves.png"), 1000, 600);
        }
    }

    String csv() {
        StringBuilder sb =
                new StringBuilder(
                        "method,k,trainable_params,total_params,backward_mflops_per_image,"
                                + "full_backward_mflops_per_image,train_seconds,step_ms,"
                                + "peak_rss_mb,energy_kept,test_accuracy\n");
        for (Row r : rows) {
            sb.append(
                    String.join(
                            ",",
                            r.label(),
                            fmtK(r.basisCount, ""),
                            String.valueOf(r.trainableParams),
                            String.valueOf(r.totalParams),
                            fmt("%.4f", r.backwardMflops, ""),
                            fmt("%.4f", r.fullBackwardMflops, ""),
                            fmt("%.2f", r.trainSeconds, ""),
                            fmt("%.2f", r.stepMillis, ""),
                            fmt("%.1f", r.peakRssMb, ""),
                            fmt("%.4f", r.energyKept, ""),
                            fmt("%.5f", r.testAccuracy, "")));
            sb.append('\n');
        }
        return sb.toString();
    }

    /**
     * What the run was, in one line: model and weights, data, what trained, recipe, engine.
     *
     * @return the caption, or "" without options
     */
    String caption() {
        if (options.isEmpty()) {
            return "";
        }
        String weights = options.getOrDefault("--weights", options.get("--pretrained"));
        String data = options.getOrDefault("--data", "");
        return String.format(
                Locale.ROOT,
                "%s (%s) on %s, train blocks %s, %s epochs, batch %s, lr %s, %s",
                options.get("--model"),
                weights == null ? "" : Path.of(weights).getFileName(),
                data.isEmpty() ? "" : Path.of(data).getFileName(),
                options.get("--train-blocks"),
                options.get("--epochs"),
                options.get("--batch"),
                options.get("--lr"),
                options.get("--engine"));
    }

    String markdown() {
        StringBuilder sb = new StringBuilder();
        if (!options.isEmpty()) {
            sb.append(caption()).append("\n\n");
        }
        sb.append(
                "| method | k | trainable params | backward MFLOPs/image | train s | ms/step | peak"
                        + " RSS MB | energy kept | test acc % |\n");
        sb.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (Row r : rows) {
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %s | %d | %s | %s | %s | %s | %s | %s |%n",
                            r.label(),
                            fmtK(r.basisCount, "-"),
                            r.trainableParams,
                            fmt("%.2f", r.backwardMflops, "-"),
                            fmt("%.1f", r.trainSeconds, "-"),
                            fmt("%.1f", r.stepMillis, "-"),
                            fmt("%.0f", r.peakRssMb, ""),
                            fmt("%.3f", r.energyKept, "-"),
                            r.testAccuracy == null ? "-" : fmt("%.2f", 100 * r.testAccuracy, "")));
        }
        sb.append('\n');
        for (String note : notes()) {
            sb.append(note).append("\n\n");
        }
        return sb.toString();
    }

    /** What the columns mean where they could mislead, and the summary line. */
    List<String> notes() {
        List<String> notes = new ArrayList<>();
        notes.add(
                "train s: the training steps only (the evaluation after each epoch is not"
                        + " counted); ms/step: their median. k: bases per 8x8 patch, 64 = full"
                        + " rank; '-' for the head alone.");
        if (rows.stream().anyMatch(r -> !r.diverged && r.peakRssMb == null)) {
            notes.add(
                    "peak RSS: blank unless measured with --isolate (each method in a JVM of its"
                            + " own); in one JVM a method's peak carries what earlier methods"
                            + " left.");
        }
        String summary = Summary.line(options.get("--model"), rows);
        if (summary != null) {
            notes.add(summary);
        }
        return notes;
    }

    private static String fmtK(Double k, String none) {
        if (k == null) {
            return none;
        }
        return k == Math.rint(k)
                ? String.valueOf(k.longValue())
                : String.format(Locale.ROOT, "%.1f", k);
    }

    private static String fmt(String format, Double v, String none) {
        return v == null ? none : String.format(Locale.ROOT, format, v);
    }

    /**
     * A method's name as a folder name: characters other than a-z, 0-9, '.', '+' and '-' become
     * '_'.
     *
     * @param method the method's name
     * @return the folder name
     */
    static String folderName(String method) {
        return method.replaceAll("[^a-z0-9.+-]", "_");
    }
}
