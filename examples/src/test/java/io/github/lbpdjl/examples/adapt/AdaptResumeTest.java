package io.github.lbpdjl.examples.adapt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.lbpdjl.examples.common.ChildJvm;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Results are saved after each method: a run killed in its second method keeps the first, and a
 * re-run with the same options resumes and ends with the results of an uninterrupted run (the runs
 * are seeded: the same methods, accuracies, FLOPs and parameter counts). A re-run with other
 * options is refused, naming --out, unless --fresh.
 */
class AdaptResumeTest {

    private static final List<String> METHODS = List.of("full", "lbp-l1-2", "head");

    /** The runs' options; {@code more} are pairs that replace or add, or single flags. */
    private static List<String> args(Path data, Path out, String... more) {
        Map<String, String> options = new LinkedHashMap<>();
        options.put("--data", data.toString());
        options.put("--pretrained", "none");
        options.put("--methods", String.join(",", METHODS));
        options.put("--epochs", "2");
        options.put("--batch", "32");
        options.put("--lr", "0.002");
        options.put("--out", out.toString());
        for (int i = 0; i < more.length; i++) {
            boolean flag = i + 1 == more.length || more[i + 1].startsWith("--");
            options.put(more[i], flag ? null : more[++i]);
        }
        List<String> args = new ArrayList<>();
        options.forEach(
                (k, v) -> {
                    args.add(k);
                    if (v != null) {
                        args.add(v);
                    }
                });
        return args;
    }

    @Test
    void aKilledRunResumesToTheResultsOfAnUninterruptedOne(@TempDir Path tmp) throws Exception {
        Path data = TinyIdx.write(tmp.resolve("data"), 192, 96);
        Path killed = tmp.resolve("killed");

        // a child JVM, killed (SIGKILL) as soon as it says it saved its first method
        List<String> lines = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch saved = new CountDownLatch(1);
        Process p = ChildJvm.of(Adapt.class).args(args(data, killed)).start();
        Thread reader =
                new Thread(
                        () -> {
                            try (BufferedReader r =
                                    new BufferedReader(
                                            new InputStreamReader(
                                                    p.getInputStream(), StandardCharsets.UTF_8))) {
                                String line;
                                while ((line = r.readLine()) != null) {
                                    lines.add(line);
                                    if (line.startsWith("== full: saved to")) {
                                        saved.countDown();
                                    }
                                }
                            } catch (IOException e) {
                                // the process was killed
                            }
                        });
        reader.start();
        boolean first = saved.await(5, TimeUnit.MINUTES);
        p.destroyForcibly();
        p.waitFor();
        reader.join();
        if (!first) {
            fail("the child never saved its first method:\n" + String.join("\n", lines));
        }
        Results partial = Results.read(killed.resolve(Results.JSON));
        List<String> done = partial.rows().stream().map(r -> r.method).toList();
        assertEquals(List.of("full"), done, "killed during lbp-l1-2: " + String.join("\n", lines));
        assertReadableLog(lines);

        // the re-run keeps full (not run again: the same row, its timing too) and runs the rest
        String log = run(args(data, killed), 0);
        Results resumed = Results.read(killed.resolve(Results.JSON));
        assertEquals(METHODS, resumed.rows().stream().map(r -> r.method).toList());
        assertEquals(partial.rows().get(0).trainSeconds, resumed.rows().get(0).trainSeconds, log);

        // an uninterrupted run
        Path whole = tmp.resolve("whole");
        run(args(data, whole), 0);
        Results uninterrupted = Results.read(whole.resolve(Results.JSON));
        assertEquals(uninterrupted.options(), resumed.options());
        for (int i = 0; i < METHODS.size(); i++) {
            Row a = uninterrupted.rows().get(i);
            Row b = resumed.rows().get(i);
            assertEquals(a.method, b.method);
            assertEquals(a.testAccuracy, b.testAccuracy, a.method + ": seeded, so the same");
            assertEquals(a.backwardMflops, b.backwardMflops, a.method);
            assertEquals(a.trainableParams, b.trainableParams, a.method);
            assertEquals(a.lossCurve.size(), b.lossCurve.size(), a.method);
            for (int j = 0; j < a.lossCurve.size(); j++) {
                assertEquals(a.lossCurve.get(j)[1], b.lossCurve.get(j)[1], a.method + " loss");
            }
        }
        assertEquals(
                Files.readAllLines(whole.resolve("results.csv")).size(),
                Files.readAllLines(killed.resolve("results.csv")).size());

        // other options into the same folder: refused, naming --out and what differs
        String refused = run(args(data, killed, "--epochs", "1"), 2);
        assertTrue(
                refused.startsWith("Invalid value for option '--out': '" + killed + "' holds")
                        && refused.contains("--epochs 2 there, 1 now")
                        && refused.contains("--fresh"),
                refused);
        assertEquals(
                resumed.rows().size(), Results.read(killed.resolve(Results.JSON)).rows().size());
    }

    /**
     * The child's output is a pipe, not a terminal: progress is a line per 25% of an epoch, not
     * DJL's carriage-return bars; and the full-backprop baseline draws no warning about LBP layers
     * it does not have.
     */
    private static void assertReadableLog(List<String> lines) {
        List<String> full = new ArrayList<>();
        for (String l : lines) {
            full.add(l);
            if (l.startsWith("== full: saved to")) {
                break;
            }
        }
        String log = String.join("\n", full);
        assertTrue(log.contains("epoch 1: training 100% done"), log);
        assertTrue(full.stream().filter(l -> l.startsWith("epoch 1: training ")).count() <= 4, log);
        assertFalse(log.contains("Training:") || log.contains("Validating:"), log);
        assertFalse(log.contains("LbpLinear"), log);
        assertFalse(log.contains("WARN io.github.lbpdjl"), log);
    }

    @Test
    void freshReplacesResultsOfOtherOptions(@TempDir Path tmp) throws Exception {
        Path data = TinyIdx.write(tmp.resolve("data"), 64, 32);
        Path out = Files.createDirectories(tmp.resolve("out"));
        Files.writeString(out.resolve(Results.JSON), "[{\"method\": \"full\"}]"); // older format
        String refused = run(args(data, out, "--methods", "head"), 2);
        assertTrue(refused.contains("'--out'") && refused.contains("--fresh"), refused);
        run(args(data, out, "--methods", "head", "--epochs", "1", "--fresh"), 0);
        Results r = Results.read(out.resolve(Results.JSON));
        assertEquals(List.of("head"), r.rows().stream().map(x -> x.method).toList());
        assertEquals("1", r.options().get("--epochs"));
    }

    /** Runs the program in-process; returns what it wrote to its error stream. */
    private static String run(List<String> args, int expectedExit) {
        CommandLine cmd = Adapt.commandLine();
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err, true));
        int rc = cmd.execute(args.toArray(new String[0]));
        assertEquals(expectedExit, rc, err.toString());
        return err.toString();
    }
}
