package io.github.lbpdjl.examples.adapt;

import ai.djl.engine.Engine;
import io.github.lbpdjl.examples.common.Method;
import io.github.lbpdjl.examples.common.TrainedPart;
import io.github.lbpdjl.zoo.TimmModelLoader;
import io.github.lbpdjl.zoo.VitModelZoo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * Checks every option of the adaptation program before any data is read or any model is made, so
 * that a bad value costs nothing: each is a {@link ParameterException} whose message is one line
 * naming the option and the value, as picocli's own ({@code Invalid value for option '--epochs':
 * 'two' is not an int}). Checks only the options; files inside --data are read later.
 */
final class OptionCheck {

    private final Adapt a;
    private final CommandLine cmd;

    private OptionCheck(Adapt a, CommandLine cmd) {
        this.a = a;
        this.cmd = cmd;
    }

    /**
     * Checks every option.
     *
     * @param a the program, its options set
     * @param cmd its command line, for the exceptions
     * @return the methods to run, in order
     * @throws ParameterException naming the first bad option and its value
     */
    static List<Method> all(Adapt a, CommandLine cmd) {
        OptionCheck c = new OptionCheck(a, cmd);
        List<Method> methods = c.methods();
        c.numbers();
        methods = c.model(methods);
        c.engine();
        c.weights();
        if (!a.flops) {
            c.data();
            c.out();
        }
        return methods;
    }

    private List<Method> methods() {
        if (a.sweep && given("--methods")) {
            throw new ParameterException(
                    cmd, "Options '--sweep' and '--methods' exclude each other: give one");
        }
        List<String> names = a.sweep ? List.of(Adapt.SWEEP.split(",")) : a.methods;
        if (names.isEmpty()) {
            throw bad("--methods", "", "names no method");
        }
        List<Method> list = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (String name : names) {
            Method m;
            try {
                m = Method.parse(name);
            } catch (IllegalArgumentException e) {
                throw bad("--methods", name, "is not a method: " + e.getMessage());
            }
            if (!seen.add(m.getName())) {
                throw bad("--methods", name, "is named twice");
            }
            list.add(m);
        }
        return list;
    }

    private void numbers() {
        atLeast("--epochs", a.epochs, 1, "");
        atLeast("--batch", a.batch, 1, "");
        atLeast("--train-size", a.trainSize, 0, " (0 = all)");
        atLeast("--test-size", a.testSize, 0, " (0 = all)");
        atLeast("--energy-every", a.energyEvery, 0, " (0 = off)");
        atLeast("--checkpoint-every", a.checkpointEvery, 0, " (0 = off)");
        if (!(a.lr > 0) || Float.isInfinite(a.lr)) {
            throw bad("--lr", String.valueOf(a.lr), "is not a learning rate; need a number > 0");
        }
        if (!(a.clipGrad >= 0) || Float.isInfinite(a.clipGrad)) {
            throw bad("--clip-grad", String.valueOf(a.clipGrad), "is not >= 0 (0 = off)");
        }
    }

    /** Checks the model and its settings; returns the methods it can run. */
    private List<Method> model(List<Method> methods) {
        TrainedPart part;
        try {
            part = TrainedPart.of(a.model, "all");
        } catch (IllegalArgumentException e) {
            throw bad(
                    "--model",
                    a.model,
                    "is not a model of the zoo; use one of "
                            + String.join(", ", TrainedPart.modelNames()));
        }
        try {
            TrainedPart.of(a.model, a.trainBlocks);
        } catch (IllegalArgumentException e) {
            throw bad("--train-blocks", a.trainBlocks, "is not " + e.getMessage().substring(5));
        }
        if (part.isEfficientFormer()) {
            if (a.sweep) {
                methods = methods.stream().filter(m -> !m.usesLora()).toList();
                System.out.println(
                        "--sweep: LoRA left out; the program puts it on Linear layers only and "
                                + a.model
                                + "'s MLPs are 1x1 convolutions");
            }
            for (Method m : methods) {
                if (m.usesLora()) {
                    throw bad(
                            "--methods",
                            m.getName(),
                            "is LoRA, which the program puts on Linear layers only; "
                                    + a.model
                                    + "'s MLPs are 1x1 convolutions");
                }
            }
        }
        if (a.weights == null && !"none".equals(a.pretrained)) {
            String resource =
                    TimmModelLoader.WEIGHTS_RESOURCE_DIR
                            + a.model
                            + "-"
                            + a.pretrained
                            + ".safetensors";
            if (TimmModelLoader.class.getClassLoader().getResource(resource) == null) {
                if (!given("--pretrained")) {
                    System.out.println(
                            "the zoo ships no weights for " + a.model + ": random initialisation");
                    a.pretrained = "none";
                    return methods;
                }
                throw bad(
                        "--pretrained",
                        a.pretrained,
                        "names no weights the zoo ships for "
                                + a.model
                                + " (model-zoo/README.md lists them); use none, or --weights"
                                + " FILE");
            }
        }
        return methods;
    }

    private void engine() {
        Set<String> usable = new TreeSet<>(Engine.getAllEngines());
        usable.retainAll(new VitModelZoo().getSupportedEngines());
        if (!usable.contains(a.engine)) {
            throw bad(
                    "--engine",
                    a.engine,
                    "is not an engine here; use " + String.join(" or ", usable));
        }
    }

    private void weights() {
        if (a.weights == null) {
            return;
        }
        if (given("--pretrained") && !"none".equals(a.pretrained)) {
            throw new ParameterException(
                    cmd, "Options '--weights' and '--pretrained' exclude each other: give one");
        }
        if (!Fetch.isUrl(a.weights)
                && !Files.isRegularFile(Path.of(a.weights))
                && !Files.isDirectory(Path.of(a.weights))) {
            throw bad("--weights", a.weights, "is not a file or checkpoint folder");
        }
    }

    private void data() {
        if (!given("--format") && isImageFolder(a.data)) {
            a.format = "folder";
        }
        if (!List.of("idx", "cifar10", "cifar100", "folder").contains(a.format)) {
            throw bad(
                    "--format", a.format, "is not a format; use idx, cifar10, cifar100 or folder");
        }
        if (!(a.testFraction > 0 && a.testFraction < 1)) {
            throw bad(
                    "--test-fraction",
                    String.valueOf(a.testFraction),
                    "is not a share of the images; need a number between 0 and 1");
        }
        if (a.format.equals("idx") && a.data.contains(",")) {
            String[] files = a.data.split(",", -1);
            if (files.length != 4) {
                throw bad(
                        "--data",
                        a.data,
                        "names "
                                + files.length
                                + " files; give four IDX files: TRAIN_IMAGES,TRAIN_LABELS,"
                                + "TEST_IMAGES,TEST_LABELS");
            }
            for (String f : files) {
                if (!Files.isRegularFile(Path.of(f))) {
                    throw bad("--data", f, "is not a file");
                }
            }
            return;
        }
        if (Fetch.isUrl(a.data)) {
            if (!a.format.equals("idx")) {
                throw bad(
                        "--data",
                        a.data,
                        "is a URL, which works for IDX data sets only; download and extract"
                                + " CIFAR, then pass its folder");
            }
            return;
        }
        if (!Files.isDirectory(Path.of(a.data))) {
            throw bad(
                    "--data",
                    a.data,
                    "is not a folder; it should hold the "
                            + (a.format.equals("idx")
                                    ? "IDX files named as MNIST's (Fashion-MNIST: apt-get"
                                            + " install dataset-fashion-mnist); other names:"
                                            + " --data TRAIN_IMAGES,TRAIN_LABELS,TEST_IMAGES,"
                                            + "TEST_LABELS"
                                    : a.format.equals("folder")
                                            ? "images in one sub-folder per class"
                                            : "CIFAR binary files (the 'binary version'"
                                                    + " archives, unpacked)"));
        }
    }

    private static boolean isImageFolder(String data) {
        try {
            return Files.isDirectory(Path.of(data)) && FolderSplits.isImageFolder(Path.of(data));
        } catch (IOException | RuntimeException e) {
            return false; // left to the reader, which names the folder
        }
    }

    private void out() {
        if (Files.exists(a.out) && !Files.isDirectory(a.out)) {
            throw bad("--out", a.out.toString(), "is a file, not a folder");
        }
        Path existing = a.out.toAbsolutePath();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null || !Files.isDirectory(existing) || !Files.isWritable(existing)) {
            throw bad(
                    "--out",
                    a.out.toString(),
                    "cannot be written: "
                            + (existing == null
                                    ? "no such folder"
                                    : existing
                                            + (Files.isDirectory(existing)
                                                    ? " is read-only"
                                                    : " is a file")));
        }
    }

    private void atLeast(String option, int value, int least, String note) {
        if (value < least) {
            throw bad(option, String.valueOf(value), "is less than " + least + note);
        }
    }

    private boolean given(String option) {
        ParseResult parsed = cmd.getParseResult();
        return parsed != null && parsed.hasMatchedOption(option);
    }

    private ParameterException bad(String option, String value, String why) {
        return bad(cmd, option, value, why);
    }

    /**
     * A bad value, worded as picocli's own.
     *
     * @param cmd the command line
     * @param option the option, e.g. {@code --batch}
     * @param value the value given
     * @param why what is wrong with it, and what to give instead
     * @return the exception, to throw
     */
    static ParameterException bad(CommandLine cmd, String option, String value, String why) {
        return new ParameterException(
                cmd, "Invalid value for option '" + option + "': '" + value + "' " + why);
    }
}
