package io.github.lbpdjl.examples.adapt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/**
 * The results folder ({@code --out}) across runs. A run claims it by writing its options into
 * {@code results.json} before training; a later run with the same options resumes from the rows
 * there, one with other options is refused (their rows are never mixed), unless {@code --fresh}
 * asks to discard them (and the checkpoints of methods in progress with them).
 */
final class ResultStore {

    /** The folder of checkpoints of methods in progress ({@code --checkpoint-every}). */
    static final String CHECKPOINTS = "checkpoints";

    private ResultStore() {}

    /**
     * Opens the results of some options in a folder: the rows saved there by an earlier run with
     * the same options, or none (then the folder is claimed: its results files are replaced by an
     * empty results.json with these options).
     *
     * @param out the folder
     * @param options the options that change results
     * @param fresh whether to discard what the folder holds
     * @param cmd the command line, for the exception
     * @return the results to add to
     * @throws ParameterException naming --out if it holds results of other options, or results this
     *     program cannot read, and {@code fresh} is false
     * @throws IOException if the folder cannot be written
     */
    static Results open(Path out, Map<String, String> options, boolean fresh, CommandLine cmd)
            throws IOException {
        Path json = out.resolve(Results.JSON);
        if (!fresh && Files.exists(json)) {
            Results earlier;
            try {
                earlier = Results.read(json);
            } catch (IOException e) {
                throw OptionCheck.bad(
                        cmd,
                        "--out",
                        out.toString(),
                        "holds a results.json this program cannot resume from ("
                                + e.getMessage()
                                + "); pass --fresh to replace it, or choose another --out");
            }
            String diff = differences(earlier.options(), options);
            if (diff.isEmpty()) {
                return earlier;
            }
            throw OptionCheck.bad(
                    cmd,
                    "--out",
                    out.toString(),
                    "holds results of other options ("
                            + diff
                            + "); pass --fresh to replace them, or choose another --out");
        }
        clear(out);
        Results results = Results.of(options);
        results.write(out);
        return results;
    }

    /**
     * What differs between stored and current options, e.g. {@code --epochs 2 there, 3 now}.
     *
     * @param there the stored options
     * @param now this run's
     * @return the differences, comma-separated; empty if none
     */
    static String differences(Map<String, String> there, Map<String, String> now) {
        List<String> diff = new ArrayList<>();
        TreeSet<String> keys = new TreeSet<>(there.keySet());
        keys.addAll(now.keySet());
        for (String k : keys) {
            String a = there.get(k);
            String b = now.get(k);
            if (!Objects.equals(a, b)) {
                diff.add(k + " " + show(a) + " there, " + show(b) + " now");
            }
        }
        return String.join("; ", diff);
    }

    private static String show(String v) {
        return v == null ? "unset" : v;
    }

    /**
     * Removes the files a run writes from the folder and from its children's folders, and the
     * checkpoints of methods in progress.
     */
    private static void clear(Path out) throws IOException {
        for (String f : Results.FILES) {
            Files.deleteIfExists(out.resolve(f));
        }
        MethodCheckpoint.deleteTree(out.resolve(CHECKPOINTS));
        Path methods = out.resolve("methods");
        if (Files.isDirectory(methods)) {
            try (Stream<Path> children = Files.list(methods)) {
                for (Path child : children.toList()) {
                    if (Files.isDirectory(child)) {
                        for (String f : Results.FILES) {
                            Files.deleteIfExists(child.resolve(f));
                        }
                    }
                }
            }
        }
    }
}
