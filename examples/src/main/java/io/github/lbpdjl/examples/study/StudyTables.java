package io.github.lbpdjl.examples.study;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;

/** The study's Markdown tables: each method's mean over seeds, with each seed's value. */
final class StudyTables {

    private StudyTables() {}

    /**
     * Groups per-layer energies by layer kind.
     *
     * @param energy per layer path, the energy kept
     * @return per kind (qkv, proj, fc1, fc2): {mean, min, max} over its layers
     */
    static Map<String, double[]> energyByKind(Map<String, Double> energy) {
        Map<String, List<Double>> by = new LinkedHashMap<>();
        energy.forEach(
                (path, e) -> {
                    String kind = StudyVit.kindOf(path);
                    if (kind != null) {
                        by.computeIfAbsent(kind, k -> new ArrayList<>()).add(e);
                    }
                });
        Map<String, double[]> out = new LinkedHashMap<>();
        by.forEach((k, v) -> out.put(k, stats(v)));
        return out;
    }

    static String markdown(List<StudyRow> rows, Map<String, Double> timing, double minutes) {
        StringBuilder s = new StringBuilder();
        for (String exp : List.of("scratch", "pretrain", "finetune")) {
            Map<String, List<StudyRow>> by = byMethod(rows, exp);
            if (by.isEmpty()) {
                continue;
            }
            s.append("\n### ").append(exp).append("\n\n");
            s.append("| method | bases/layer | backward MFLOPs/image | % of full | test acc %")
                    .append(" (per seed) | mean | train loss | ms/step |\n")
                    .append("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |\n");
            for (List<StudyRow> g : by.values()) {
                StudyRow r = g.get(0);
                double mflops = mean(g, StudyRow::backwardMflops);
                s.append(
                        String.format(
                                Locale.ROOT,
                                "| %s | %s | %.2f | %.0f | %s | **%.2f** | %.3f | %.1f |%n",
                                r.method().label(),
                                r.meanBases() == 0
                                        ? "64"
                                        : String.format(
                                                Locale.ROOT, "%.1f", mean(g, StudyRow::meanBases)),
                                mflops,
                                100 * mflops / r.fullBackwardMflops(),
                                g.stream()
                                        .map(
                                                x ->
                                                        String.format(
                                                                Locale.ROOT,
                                                                "%.2f",
                                                                100 * x.testAccuracy()))
                                        .collect(Collectors.joining(" / ")),
                                100 * mean(g, StudyRow::testAccuracy),
                                mean(g, StudyRow::trainLoss),
                                mean(g, StudyRow::msPerStep)));
            }
        }
        energy(s, rows);
        energyPerBlock(s, rows);
        adaptive(s, rows);
        if (!timing.isEmpty()) {
            s.append("\n### step time, side by side\n\n| method | median ms/step | x full |\n")
                    .append("| --- | ---: | ---: |\n");
            Double full = timing.get("full");
            timing.forEach(
                    (m, ms) ->
                            s.append(
                                    String.format(
                                            Locale.ROOT,
                                            "| %s | %.1f | %s |%n",
                                            StudyMethod.parse(m).label(),
                                            ms,
                                            full == null
                                                    ? "-"
                                                    : String.format(
                                                            Locale.ROOT, "%.2f", ms / full))));
        }
        s.append(String.format(Locale.ROOT, "%nWall time: %.1f min.%n", minutes));
        return s.toString();
    }

    /** Energy kept per layer kind: mean over blocks and seeds, (min-max) over them. */
    private static void energy(StringBuilder s, List<StudyRow> rows) {
        s.append("\n### gradient energy kept, mean (min-max) over blocks and seeds\n\n")
                .append("| experiment | method | qkv | proj | fc1 | fc2 |\n")
                .append("| --- | --- | --- | --- | --- | --- |\n");
        for (String exp : List.of("scratch", "finetune")) {
            for (List<StudyRow> g : byMethod(rows, exp).values()) {
                Map<String, List<Double>> all = pooled(g, StudyVit::kindOf);
                if (all.isEmpty()) {
                    continue;
                }
                s.append("| ").append(exp).append(" | ").append(g.get(0).method().label());
                for (String k : StudyCsv.KINDS) {
                    double[] v = all.containsKey(k) ? stats(all.get(k)) : null;
                    s.append(
                            v == null
                                    ? " | exact"
                                    : String.format(
                                            Locale.ROOT, " | %.2f (%.2f-%.2f)", v[0], v[1], v[2]));
                }
                s.append(" |\n");
            }
        }
    }

    /** Energy kept per block, each cell qkv / proj / fc1 / fc2, mean over seeds. */
    private static void energyPerBlock(StringBuilder s, List<StudyRow> rows) {
        int depth =
                rows.stream()
                                .flatMap(r -> r.energy().keySet().stream())
                                .filter(p -> StudyVit.kindOf(p) != null)
                                .mapToInt(StudyVit::blockOf)
                                .max()
                                .orElse(-1)
                        + 1;
        if (depth == 0) {
            return;
        }
        s.append(
                        "\n"
                                + "### gradient energy kept per block: qkv / proj / fc1 / fc2, mean"
                                + " over seeds\n\n")
                .append("| experiment | method |");
        for (int b = 0; b < depth; b++) {
            s.append(" block ").append(b).append(" |");
        }
        s.append("\n| --- | --- |").append(" --- |".repeat(depth)).append('\n');
        for (String exp : List.of("scratch", "finetune")) {
            for (List<StudyRow> g : byMethod(rows, exp).values()) {
                Map<String, List<Double>> per = pooled(g, StudyTables::blockAndKind);
                if (per.isEmpty()) {
                    continue;
                }
                s.append("| ")
                        .append(exp)
                        .append(" | ")
                        .append(g.get(0).method().label())
                        .append(" |");
                for (int b = 0; b < depth; b++) {
                    List<String> cell = new ArrayList<>();
                    for (String k : StudyCsv.KINDS) {
                        List<Double> v = per.get(b + "/" + k);
                        cell.add(v == null ? "-" : String.format(Locale.ROOT, "%.2f", stats(v)[0]));
                    }
                    s.append(' ').append(String.join(" / ", cell)).append(" |");
                }
                s.append('\n');
            }
        }
    }

    /** Energy-adaptive rows against the fixed LP_L1 orders, interpolated at the same FLOPs. */
    private static void adaptive(StringBuilder s, List<StudyRow> rows) {
        Map<String, List<StudyRow>> ft = byMethod(rows, "finetune");
        TreeMap<Double, Double> fixed = new TreeMap<>();
        for (List<StudyRow> g : ft.values()) {
            StudyMethod m = g.get(0).method();
            if (m.isLbp() && m.order() > 0 && !m.qkvExact()) {
                fixed.put(mean(g, StudyRow::backwardMflops), mean(g, StudyRow::testAccuracy));
            }
        }
        for (List<StudyRow> g : ft.values()) {
            if (g.get(0).method().energyTarget() == 0) {
                continue;
            }
            double f = mean(g, StudyRow::backwardMflops);
            Map.Entry<Double, Double> lo = fixed.floorEntry(f);
            Map.Entry<Double, Double> hi = fixed.ceilingEntry(f);
            String at = "-";
            if (lo != null && hi != null) {
                double t =
                        hi.getKey().equals(lo.getKey())
                                ? 0
                                : (f - lo.getKey()) / (hi.getKey() - lo.getKey());
                at =
                        String.format(
                                Locale.ROOT,
                                "%.2f",
                                100 * (lo.getValue() + t * (hi.getValue() - lo.getValue())));
            }
            s.append(
                    String.format(
                            Locale.ROOT,
                            "%n%s: %.1f bases/layer, %.2f MFLOPs/image, %.2f%% mean test accuracy;"
                                    + " fixed LP_L1 orders interpolated at the same FLOPs: %s%%.%n",
                            g.get(0).method().label(),
                            mean(g, StudyRow::meanBases),
                            f,
                            100 * mean(g, StudyRow::testAccuracy),
                            at));
        }
    }

    /** The energies of a method's runs pooled by a key of the layer path (null: left out). */
    private static Map<String, List<Double>> pooled(
            List<StudyRow> g, Function<String, String> key) {
        Map<String, List<Double>> out = new TreeMap<>();
        for (StudyRow r : g) {
            for (Map.Entry<String, Double> e : r.energy().entrySet()) {
                String k = key.apply(e.getKey());
                if (k != null) {
                    out.computeIfAbsent(k, x -> new ArrayList<>()).add(e.getValue());
                }
            }
        }
        return out;
    }

    private static String blockAndKind(String path) {
        String kind = StudyVit.kindOf(path);
        return kind == null ? null : StudyVit.blockOf(path) + "/" + kind;
    }

    private static Map<String, List<StudyRow>> byMethod(List<StudyRow> rows, String exp) {
        Map<String, List<StudyRow>> by = new LinkedHashMap<>();
        for (StudyRow r : rows) {
            if (r.experiment().equals(exp)) {
                by.computeIfAbsent(r.method().name(), k -> new ArrayList<>()).add(r);
            }
        }
        return by;
    }

    private static double mean(List<StudyRow> g, ToDoubleFunction<StudyRow> f) {
        return g.stream().mapToDouble(f).average().orElse(Double.NaN);
    }

    private static double[] stats(List<Double> v) {
        double[] out = {0, Double.MAX_VALUE, -Double.MAX_VALUE};
        for (double x : v) {
            out[0] += x / v.size();
            out[1] = Math.min(out[1], x);
            out[2] = Math.max(out[2], x);
        }
        return out;
    }
}
