package io.github.lbpdjl.examples.bench;

import ai.djl.engine.Engine;
import io.github.lbpdjl.examples.common.ChildJvm;
import io.github.lbpdjl.examples.common.Method;
import io.github.lbpdjl.examples.common.Offline;
import io.github.lbpdjl.examples.common.TrainedPart;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Model-level benchmark: one training step (forward, backward, AdamW step) of a zoo ViT with random
 * weights, batch of random images, for full backprop, LBP-WHT LP_L1 at several orders, LoRA and
 * LoRA + LBP-WHT, with every block trained and with only the last blocks trained.
 *
 * <p>Per training setting, full backprop and LBP-WHT share one model (LbpLinear with LBP-WHT off is
 * exactly Linear) and LoRA and LoRA + LBP-WHT another (LoraLinear with its LBP-WHT off is plain
 * LoRA); both start from the same seed. After the warm-up repetitions, each repetition runs every
 * method once, the order rotating, so that drift hits all alike; the table gives the median step
 * time, its ratio to full backprop, the FLOP ratio of the same step ({@link StepFlops}, the limit)
 * and the efficiency limit / measured ratio. With {@code --memory}, each method runs again in a
 * child JVM of its own (one warm-up step, then measured steps) for its peak RSS, the RSS just
 * before the measured steps, DJL's memory metric ({@code MemoryTrainingListener}'s "rss" after
 * backward) and the bytes of the arrays the batch's manager still holds after backward.
 *
 * <p>The parts: {@link StepModel} (a model, its trainer and batch), {@link StepTimer}, {@link
 * MemoryProbe} and {@link StepMemory} (the memory child and its report), {@link StepFlops}, {@link
 * StepReport}, {@link StepCsv} and {@link StepChart}.
 */
@Command(
        name = "step-benchmark",
        mixinStandardHelpOptions = true,
        description =
                "Training-step time and peak memory: full backprop, LBP-WHT, LoRA, LoRA + LBP-WHT"
                        + " on a zoo ViT.")
public final class StepBenchmark implements Callable<Integer> {

    @Option(names = "--model", description = "Zoo variant (default: ${DEFAULT-VALUE}).")
    String model = "vit_base_patch16_224";

    @Option(names = "--engine", description = "PyTorch or MXNet (default: ${DEFAULT-VALUE}).")
    String engine = "PyTorch";

    @Option(names = "--batch", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch = 8;

    @Option(
            names = "--orders",
            split = ",",
            description = "LP_L1 orders of LBP-WHT (default: ${DEFAULT-VALUE}).")
    List<Integer> orders = List.of(1, 2, 4, 6, 8);

    @Option(
            names = "--lora-rank",
            description =
                    "LoRA rank, alpha = 2 x rank; 0 leaves LoRA out (default: ${DEFAULT-VALUE}).")
    int loraRank = 8;

    @Option(
            names = "--lora-lbp-order",
            description =
                    "LP_L1 order of LoRA + LBP-WHT; 0 leaves it out (default: ${DEFAULT-VALUE}).")
    int loraLbpOrder = 2;

    @Option(
            names = "--train-blocks",
            split = ",",
            description =
                    "Training settings: 'all' or the number of last blocks trained (default:"
                            + " ${DEFAULT-VALUE}).")
    List<String> trainBlocks = List.of("all", "4");

    @Option(names = "--warmup", description = "Warm-up repetitions (default: ${DEFAULT-VALUE}).")
    int warmup = 2;

    @Option(names = "--reps", description = "Measured repetitions (default: ${DEFAULT-VALUE}).")
    int reps = 5;

    @Option(
            names = "--memory",
            description = "Also measure each method's memory in a child JVM of its own.")
    boolean memory;

    @Option(
            names = "--memory-methods",
            split = ",",
            description =
                    "Methods whose memory is measured (default: every method), e.g."
                            + " full,LP_L1-2,lora-8.")
    List<String> memoryMethods;

    @Option(
            names = "--memory-train-blocks",
            split = ",",
            description = "Training settings in which memory is measured (default: every setting).")
    List<String> memoryTrainBlocks;

    @Option(
            names = "--memory-steps",
            description =
                    "Measured steps in each memory child, after one warm-up step (default:"
                            + " ${DEFAULT-VALUE}).")
    int memorySteps = 1;

    @Option(
            names = "--malloc-default",
            description =
                    "Run the memory children with glibc's default malloc settings (by default they"
                        + " get MALLOC_MMAP_THRESHOLD_=65536 so that freed arrays go back to the OS"
                        + " and RSS follows live memory).")
    boolean mallocDefault;

    @Option(names = "--csv", description = "Write the results as CSV to this file.")
    Path csv;

    @Option(
            names = "--png",
            description =
                    "Write a chart (speed-up against k, measured and FLOP limit) to this PNG.")
    Path png;

    @Option(
            names = "--only",
            hidden = true,
            description = "Child mode: run one method, print its memory.")
    String only;

    /**
     * Runs the benchmark.
     *
     * @param args see --help
     */
    public static void main(String[] args) {
        Offline.ensure();
        System.exit(new CommandLine(new StepBenchmark()).execute(args));
    }

    private StepConfig config() {
        return new StepConfig(model, engine, batch, orders, loraRank, loraLbpOrder);
    }

    @Override
    public Integer call() throws Exception {
        if (loraRank > 0 && !TrainedPart.of(model, "all").isVit()) {
            System.out.println(model + ": LoRA left out (it adapts Linear layers only)");
            loraRank = 0;
        }
        StepConfig config = config();
        config.isVit(); // fails early on an unknown model
        if (only != null) {
            MemoryProbe.run(config, config.method(only), trainBlocks.get(0), memorySteps);
            return 0;
        }
        List<Method> methods = config.methods();
        if (memoryMethods != null) {
            memoryMethods.forEach(config::method); // fails early on a misspelt name
        }
        System.out.printf(
                Locale.ROOT,
                "%s, %s %s, batch %d, %d cores, Java %s; %d warm-up + %d measured repetitions,"
                        + " methods alternated%n",
                model,
                engine,
                Engine.getEngine(engine).getVersion(),
                batch,
                Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.version"),
                warmup,
                reps);
        StepTimer timer = new StepTimer(config, warmup, reps);
        List<StepRow> rows = new ArrayList<>();
        for (String setting : trainBlocks) {
            StepTimer.Times times = timer.time(methods, setting);
            Map<String, StepMemory> mem = new LinkedHashMap<>();
            if (memory && (memoryTrainBlocks == null || memoryTrainBlocks.contains(setting))) {
                for (Method m : methods) {
                    if (memoryMethods == null || memoryMethods.contains(m.getName())) {
                        mem.put(m.getName(), childMemory(m, setting));
                    }
                }
            }
            rows.addAll(StepReport.rows(config, methods, setting, times, mem));
        }
        if (csv != null) {
            StepCsv.write(csv, config, rows);
        }
        if (png != null) {
            StepChart.write(png, config, trainBlocks, rows);
        }
        return 0;
    }

    /** Measures one method's memory in a child JVM running this program with --only. */
    private StepMemory childMemory(Method m, String setting)
            throws IOException, InterruptedException {
        ChildJvm child =
                ChildJvm.of(StepBenchmark.class)
                        .args(
                                List.of(
                                        "--model",
                                        model,
                                        "--engine",
                                        engine,
                                        "--batch",
                                        String.valueOf(batch),
                                        "--orders",
                                        orders.stream()
                                                .map(String::valueOf)
                                                .collect(Collectors.joining(",")),
                                        "--lora-rank",
                                        String.valueOf(loraRank),
                                        "--lora-lbp-order",
                                        String.valueOf(loraLbpOrder),
                                        "--train-blocks",
                                        setting,
                                        "--memory-steps",
                                        String.valueOf(memorySteps),
                                        "--only",
                                        m.getName()));
        if (!mallocDefault) {
            child.environment("MALLOC_MMAP_THRESHOLD_", "65536")
                    .environment("MALLOC_TRIM_THRESHOLD_", "65536");
        }
        StepMemory out = StepMemory.measure(child, m.getName());
        System.out.printf(
                Locale.ROOT,
                "  memory %s (train %s): peak %.0f MiB%n",
                m.getName(),
                setting,
                out.peakMb());
        return out;
    }
}
