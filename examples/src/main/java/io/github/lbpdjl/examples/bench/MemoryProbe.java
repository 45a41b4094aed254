package io.github.lbpdjl.examples.bench;

import ai.djl.metric.Metric;
import ai.djl.metric.Metrics;
import ai.djl.metric.Unit;
import ai.djl.ndarray.NDArray;
import ai.djl.training.Trainer;
import ai.djl.training.listener.MemoryTrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import io.github.lbpdjl.examples.common.Method;
import io.github.lbpdjl.examples.common.ProcMemory;
import java.io.IOException;
import java.util.List;

/**
 * The memory child of the training-step benchmark ({@code StepBenchmark --only METHOD}): one
 * warm-up step (gradients and optimizer state exist from then on), then the measured steps with the
 * peak RSS reset before them; prints its {@link StepMemory} report.
 */
final class MemoryProbe {

    private MemoryProbe() {}

    /**
     * Measures one method and prints the report.
     *
     * @param config the benchmark's settings
     * @param m the method
     * @param setting 'all', or the number of last blocks trained
     * @param steps measured steps after the warm-up step
     * @throws IOException if /proc cannot be read
     */
    static void run(StepConfig config, Method m, String setting, int steps) throws IOException {
        System.setProperty("collect-memory", "true");
        HeldProbe held = new HeldProbe();
        try (StepModel s =
                new StepModel(
                        config,
                        setting,
                        m.usesLora(),
                        List.of(new MemoryTrainingListener(), held))) {
            s.step(m);
            held.maxMb = 0;
            s.trainer.setMetrics(new Metrics());
            double before = statusMb("VmRSS");
            boolean reset = ProcMemory.resetPeak();
            for (int i = 0; i < steps; i++) {
                s.step(m);
            }
            double peak = statusMb("VmHWM");
            double djlRss = djlRssMb(s.trainer);
            System.out.println(new StepMemory(peak, before, djlRss, held.maxMb).line(reset));
        }
    }

    /** The largest value of DJL's "rss" metric, in MiB, or NaN without one. */
    private static double djlRssMb(Trainer trainer) {
        double djlRss = Double.NaN;
        List<Metric> rss = trainer.getMetrics().getMetric("rss");
        if (rss != null) {
            for (Metric r : rss) {
                double v = r.getValue().doubleValue();
                double mb = r.getUnit() == Unit.KILOBYTES ? v / 1024 : v / (1 << 20);
                djlRss = Double.isNaN(djlRss) ? mb : Math.max(djlRss, mb);
            }
        }
        return djlRss;
    }

    private static double statusMb(String key) throws IOException {
        long kib = ProcMemory.statusKib(key);
        return kib < 0 ? Double.NaN : kib / 1024.0;
    }

    /** After each batch: the bytes of the arrays the batch's manager holds; keeps the largest. */
    private static final class HeldProbe extends TrainingListenerAdapter {
        double maxMb;

        @Override
        public void onTrainingBatch(Trainer trainer, BatchData batchData) {
            double bytes = 0;
            for (NDArray a : batchData.getBatch().getManager().getManagedArrays()) {
                bytes += a.getShape().size() * a.getDataType().getNumOfBytes();
            }
            maxMb = Math.max(maxMb, bytes / (1 << 20));
        }
    }
}
