package io.github.lbpdjl.examples.study;

import io.github.lbpdjl.examples.common.Offline;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * LBP-WHT measured on a model a user wrote ({@link StudyVit}), on Fashion-MNIST: training from
 * scratch, fine-tuning after pre-training on other classes, the gradient energy kept per layer
 * kind, the energy-adaptive selection against fixed orders, and step times side by side. Writes one
 * CSV row per run as it goes and Markdown tables at the end.
 */
@Command(
        name = "custom-model-study",
        mixinStandardHelpOptions = true,
        description = "LBP-WHT on a user-written ViT: scratch, fine-tuning, energy, step times.")
public final class CustomModelStudy implements Callable<Integer> {

    @Option(names = "--data", description = "Fashion-MNIST IDX folder (${DEFAULT-VALUE}).")
    Path data = Paths.get("/usr/share/datasets/fashion-mnist");

    @Option(names = "--out", description = "Output folder (${DEFAULT-VALUE}).")
    Path out = Paths.get("output", "study");

    @Option(names = "--engine", description = "PyTorch or MXNet (${DEFAULT-VALUE}).")
    String engine = "PyTorch";

    @Option(names = "--seeds", split = ",", description = "Seeds (${DEFAULT-VALUE}).")
    List<Integer> seeds = List.of(1, 2);

    @Option(names = "--train-size", description = "First N training images (${DEFAULT-VALUE}).")
    int trainSize = 2000;

    @Option(names = "--test-size", description = "First N test images (${DEFAULT-VALUE}).")
    int testSize = 1000;

    @Option(names = "--epochs", description = "Epochs from scratch (${DEFAULT-VALUE}).")
    int epochs = 2;

    @Option(names = "--pretrain-epochs", description = "Pre-training epochs (${DEFAULT-VALUE}).")
    int pretrainEpochs = 2;

    @Option(names = "--finetune-epochs", description = "Fine-tuning epochs (${DEFAULT-VALUE}).")
    int finetuneEpochs = 2;

    @Option(
            names = "--lr",
            description = "Peak lr from scratch and pre-training (${DEFAULT-VALUE}).")
    double lr = 1e-3;

    @Option(names = "--finetune-lr", description = "Peak fine-tuning lr (${DEFAULT-VALUE}).")
    double finetuneLr = 5e-4;

    @Option(names = "--batch", description = "Batch size (${DEFAULT-VALUE}).")
    int batch = 64;

    @Option(names = "--dim", description = "Model width (${DEFAULT-VALUE}).")
    int dim = 64;

    @Option(names = "--depth", description = "Transformer blocks (${DEFAULT-VALUE}).")
    int depth = 4;

    @Option(
            names = "--scratch-methods",
            split = ",",
            description = "Methods from scratch (${DEFAULT-VALUE}); none: skip.")
    List<String> scratchMethods =
            List.of("full", "lp-l1-2", "lp-l1-4", "lp-l1-2-qkv-exact", "full-probe-l1-2");

    @Option(
            names = "--finetune-methods",
            split = ",",
            description = "Fine-tuning methods (${DEFAULT-VALUE}); none: skip.")
    List<String> finetuneMethods =
            List.of(
                    "full",
                    "lp-l1-2",
                    "lp-l1-3",
                    "lp-l1-4",
                    "lp-l1-2-qkv-exact",
                    "energy-0.9-k10",
                    "full-probe-l1-2");

    @Option(
            names = "--timing-methods",
            split = ",",
            description = "Methods timed side by side (${DEFAULT-VALUE}); none: skip.")
    List<String> timingMethods = List.of("full", "lp-l1-2", "lp-l1-4");

    @Option(names = "--timing-rounds", description = "Timed rounds (${DEFAULT-VALUE}).")
    int timingRounds = 40;

    @Option(names = "--energy-every", description = "Energy sampling period (${DEFAULT-VALUE}).")
    int energyEvery = 10;

    @Option(names = "--calibration", description = "Energy-adaptive batches (${DEFAULT-VALUE}).")
    int calibration = 20;

    /**
     * Runs the study.
     *
     * @param args see --help
     */
    public static void main(String[] args) {
        Offline.ensure();
        System.exit(new CommandLine(new CustomModelStudy()).execute(args));
    }

    @Override
    public Integer call() throws IOException {
        long start = System.nanoTime();
        StudySetup setup = new StudySetup(engine, dim, depth, 4, batch, energyEvery, calibration);
        StudyData train = StudyData.load(data, true).head(trainSize);
        StudyData test = StudyData.load(data, false).head(testSize);
        Files.createDirectories(out);
        StudyCsv csv = new StudyCsv(out.resolve("custom-model-study.csv"));
        List<StudyRow> rows = new ArrayList<>();
        for (int seed : seeds) {
            Trial scratch = new Trial(setup, "scratch", 10, epochs, lr, null);
            for (StudyMethod m : methods(scratchMethods)) {
                rows.add(csv.add(scratch.run(m, seed, train, test, null).row()));
            }
        }
        List<StudyMethod> ft = methods(finetuneMethods);
        for (int seed : ft.isEmpty() ? List.<Integer>of() : seeds) {
            Trial pre = new Trial(setup, "pretrain", 5, pretrainEpochs, lr, null);
            Trial.Outcome base =
                    pre.run(
                            StudyMethod.parse("full"),
                            seed,
                            train.classes(0, 5),
                            test.classes(0, 5),
                            null);
            rows.add(csv.add(base.row()));
            Trial fine =
                    new Trial(
                            setup,
                            "finetune",
                            5,
                            finetuneEpochs,
                            finetuneLr,
                            StudyVit.embeddings());
            for (StudyMethod m : ft) {
                StudyRow r =
                        fine.run(m, seed, train.classes(5, 10), test.classes(5, 10), base.weights())
                                .row();
                rows.add(csv.add(r));
            }
        }
        Map<String, Double> timing = new LinkedHashMap<>();
        if (!methods(timingMethods).isEmpty()) {
            timing = StepTiming.measure(setup, methods(timingMethods), train, 5, timingRounds);
            csv.addTiming(timing);
        }
        double minutes = (System.nanoTime() - start) / 60e9;
        String md = StudyTables.markdown(rows, timing, minutes);
        Files.writeString(out.resolve("custom-model-study-tables.md"), md);
        System.out.println(md);
        System.out.printf(Locale.ROOT, "wall time %.1f min%n", minutes);
        return 0;
    }

    private static List<StudyMethod> methods(List<String> specs) {
        List<StudyMethod> out = new ArrayList<>();
        for (String s : specs) {
            if (!s.equalsIgnoreCase("none")) {
                out.add(StudyMethod.parse(s));
            }
        }
        return out;
    }
}
