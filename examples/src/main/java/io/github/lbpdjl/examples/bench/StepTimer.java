package io.github.lbpdjl.examples.bench;

import io.github.lbpdjl.examples.common.Method;
import io.github.lbpdjl.examples.common.TrainedPart;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Times the training step of every method of one training setting: after the warm-up repetitions,
 * each repetition runs every method once, the order rotating, so that drift hits all alike.
 */
final class StepTimer {

    private final StepConfig config;
    private final int warmup;
    private final int reps;

    /**
     * Creates a timer.
     *
     * @param config the benchmark's settings
     * @param warmup warm-up repetitions
     * @param reps measured repetitions
     */
    StepTimer(StepConfig config, int warmup, int reps) {
        this.config = config;
        this.warmup = warmup;
        this.reps = reps;
    }

    /** The step times of one setting, and each method's trainable parameters. */
    static final class Times {
        final Map<String, double[]> millis = new LinkedHashMap<>();
        final Map<String, Long> trainable = new LinkedHashMap<>();
    }

    /**
     * Times every method of one training setting, alternated within each repetition.
     *
     * @param methods the methods
     * @param setting 'all', or the number of last blocks trained
     * @return the measured step times in ms by method name, and the trainable parameters
     */
    Times time(List<Method> methods, String setting) {
        Times times = new Times();
        for (Method m : methods) {
            times.millis.put(m.getName(), new double[reps]);
        }
        boolean anyLora = methods.stream().anyMatch(Method::usesLora);
        boolean anyBase = methods.stream().anyMatch(m -> !m.usesLora());
        try (StepModel base = anyBase ? new StepModel(config, setting, false, null) : null;
                StepModel lora = anyLora ? new StepModel(config, setting, true, null) : null) {
            System.out.printf(
                    Locale.ROOT,
                    "%ntraining %s%n",
                    TrainedPart.of(config.model(), setting).describe());
            for (StepModel s : new StepModel[] {base, lora}) {
                if (s != null) {
                    System.out.println("  " + s.summary);
                }
            }
            for (Method m : methods) {
                times.trainable.put(m.getName(), (m.usesLora() ? lora : base).trainable);
            }
            for (int rep = 0; rep < warmup + reps; rep++) {
                for (int i = 0; i < methods.size(); i++) {
                    Method m = methods.get((i + rep) % methods.size());
                    double ms = (m.usesLora() ? lora : base).step(m);
                    if (rep >= warmup) {
                        times.millis.get(m.getName())[rep - warmup] = ms;
                    }
                }
                System.out.printf(
                        Locale.ROOT,
                        "  repetition %d/%d%s done%n",
                        rep + 1,
                        warmup + reps,
                        rep < warmup ? " (warm-up)" : "");
            }
        }
        return times;
    }
}
