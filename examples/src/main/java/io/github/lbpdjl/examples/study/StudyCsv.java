package io.github.lbpdjl.examples.study;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Map;

/**
 * The study's CSV, one row per run, appended as each run ends (a crash keeps the finished runs):
 * results, backward FLOPs, and the gradient energy kept per layer kind (mean, min and max over the
 * blocks); step-timing rows have only the method and ms/step, and the ratio to full backprop.
 */
final class StudyCsv {

    static final String[] KINDS = {"qkv", "proj", "fc1", "fc2"};

    private final Path file;

    StudyCsv(Path file) throws IOException {
        this.file = file;
        StringBuilder h =
                new StringBuilder(
                        "experiment,method,label,seed,train_loss,test_accuracy,backward_mflops,"
                                + "full_backward_mflops,mean_bases,ms_per_step,ratio_to_full");
        for (String k : KINDS) {
            h.append(",energy_").append(k).append(",energy_").append(k).append("_min");
            h.append(",energy_").append(k).append("_max");
        }
        Files.writeString(file, h.append('\n').toString());
    }

    StudyRow add(StudyRow r) {
        StringBuilder s =
                new StringBuilder(
                        String.format(
                                Locale.ROOT,
                                "%s,%s,%s,%d,%.5f,%.4f,%.3f,%.3f,%.2f,%.2f,",
                                r.experiment(),
                                r.method().name(),
                                r.method().label(),
                                r.seed(),
                                r.trainLoss(),
                                r.testAccuracy(),
                                r.backwardMflops(),
                                r.fullBackwardMflops(),
                                r.meanBases(),
                                r.msPerStep()));
        Map<String, double[]> e = StudyTables.energyByKind(r.energy());
        for (String k : KINDS) {
            double[] v = e.get(k);
            s.append(
                    v == null
                            ? ",,,"
                            : String.format(Locale.ROOT, ",%.4f,%.4f,%.4f", v[0], v[1], v[2]));
        }
        append(s.append('\n').toString());
        return r;
    }

    void addTiming(Map<String, Double> medians) {
        Double full = medians.get("full");
        StringBuilder s = new StringBuilder();
        medians.forEach(
                (m, ms) ->
                        s.append(
                                String.format(
                                        Locale.ROOT,
                                        "timing,%s,,,,,,,,%.2f,%s%s%n",
                                        m,
                                        ms,
                                        full == null
                                                ? ""
                                                : String.format(Locale.ROOT, "%.3f", ms / full),
                                        ",".repeat(3 * KINDS.length))));
        append(s.toString());
    }

    private void append(String text) {
        try {
            Files.writeString(file, text, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
