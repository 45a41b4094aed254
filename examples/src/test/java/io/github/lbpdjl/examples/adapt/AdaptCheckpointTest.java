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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/**
 * {@code --checkpoint-every N}: a run killed (SIGKILL) in the middle of an LBP-WHT method, then
 * re-run with the same options, continues the method from its last checkpoint and ends with exactly
 * the test accuracy and loss curve of an uninterrupted run. The re-run must say that it continued
 * from a step past 0, so a resume that starts the method afresh fails; one that skipped restoring
 * the weights, the optimizer or the listener, or the data order, ends elsewhere.
 */
class AdaptCheckpointTest {

    private static final String METHOD = "lbp-l1-2";

    /**
     * The runs' options: 3 epochs of 12 steps (batch 16 of 192 images), a checkpoint every 3 steps;
     * {@code more} are pairs that replace or add, or single flags.
     */
    private static List<String> args(Path data, Path out, String engine, String... more) {
        Map<String, String> options = new LinkedHashMap<>();
        options.put("--data", data.toString());
        options.put("--pretrained", "none");
        options.put("--methods", METHOD);
        options.put("--epochs", "3");
        options.put("--batch", "16");
        options.put("--lr", "0.002");
        options.put("--energy-every", "5");
        options.put("--engine", engine);
        options.put("--checkpoint-every", "3");
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

    /**
     * On MXNet the re-run has {@code --isolate}: the method runs in a child JVM, which gets the
     * option and finds the checkpoint beside its parent's results.
     */
    @ParameterizedTest(name = "{0}, re-run isolated: {1}")
    @CsvSource({"PyTorch, false", "MXNet, true"})
    void aRunKilledMidMethodContinuesFromItsCheckpoint(
            String engine, boolean isolate, @TempDir Path tmp) throws Exception {
        Path data = TinyIdx.write(tmp.resolve("data"), 192, 96);
        Path killed = tmp.resolve("killed");
        Path checkpoint = killed.resolve(ResultStore.CHECKPOINTS).resolve(METHOD);

        // killed as soon as it says it saved the checkpoint of step 15 (epoch 2, its step 3)
        List<String> lines = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch saved = new CountDownLatch(1);
        Process p = ChildJvm.of(Adapt.class).args(args(data, killed, engine)).start();
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
                                    if (line.startsWith("checkpoint at step 15 ")) {
                                        saved.countDown();
                                    }
                                }
                            } catch (IOException e) {
                                // the process was killed
                            }
                        });
        reader.start();
        boolean reached = saved.await(5, TimeUnit.MINUTES);
        p.destroyForcibly();
        p.waitFor();
        reader.join();
        String killedLog = String.join("\n", lines);
        if (!reached) {
            fail("the child never saved the checkpoint of step 15:\n" + killedLog);
        }
        assertTrue(
                Results.read(killed.resolve(Results.JSON)).rows().isEmpty(),
                "killed in its only method: " + killedLog);
        MethodCheckpoint.Progress at = MethodCheckpoint.of(checkpoint.getParent(), METHOD).read();
        assertTrue(at != null && at.step >= 15 && at.step < 36, killedLog);

        // the re-run continues from that checkpoint, and removes it once the row is saved
        List<String> rerun = new ArrayList<>();
        ChildJvm.Finished f =
                ChildJvm.of(Adapt.class).args(args(data, killed, engine)).run(rerun::add);
        String log = String.join("\n", rerun);
        assertEquals(0, f.exitCode(), log);
        assertTrue(
                log.contains(
                        "== "
                                + METHOD
                                + ": continuing from its checkpoint at step "
                                + at.step
                                + " (epoch "),
                "continued from step " + at.step + " > 0:\n" + log);
        assertFalse(log.contains("checkpoint at step 3 "), "no step trained twice:\n" + log);
        assertFalse(Files.exists(checkpoint), "checkpoint removed with the row saved");
        Results resumed = Results.read(killed.resolve(Results.JSON));

        // an uninterrupted run with the same options, in a fresh JVM like the others: in this one,
        // what earlier tests loaded changes PyTorch's last bits (seen after SavedModelTest ran
        // both engines in-process: loss 2.287831497 against 2.287831450)
        Path whole = tmp.resolve("whole");
        List<String> wholeLog = new ArrayList<>();
        ChildJvm.Finished w =
                ChildJvm.of(Adapt.class).args(args(data, whole, engine)).run(wholeLog::add);
        assertEquals(0, w.exitCode(), String.join("\n", wholeLog));
        assertFalse(Files.exists(whole.resolve(ResultStore.CHECKPOINTS).resolve(METHOD)));
        Results uninterrupted = Results.read(whole.resolve(Results.JSON));

        assertEquals(uninterrupted.options(), resumed.options());
        assertEquals(1, resumed.rows().size());
        Row a = uninterrupted.rows().get(0);
        Row b = resumed.rows().get(0);
        assertEquals(a.testAccuracy, b.testAccuracy, engine + ": test accuracy");
        assertEquals(a.trainableParams, b.trainableParams);
        assertEquals(3, a.lossCurve.size(), "36 steps, a point per 10");
        assertEquals(a.lossCurve.size(), b.lossCurve.size());
        for (int j = 0; j < a.lossCurve.size(); j++) {
            assertEquals(a.lossCurve.get(j)[0], b.lossCurve.get(j)[0]);
            assertEquals(a.lossCurve.get(j)[1], b.lossCurve.get(j)[1], engine + " loss " + j);
        }
        assertTrue(b.stepMillis != null && b.trainSeconds > 0, "step times of both runs");
    }

    /**
     * A checkpoint goes with its method's row (one left by a run killed in between is removed on
     * the next run) and with --fresh; one that cannot be read stops the run with one line naming
     * the folder and the remedies.
     */
    @Test
    void checkpointsGoWithTheirRowAndWithFresh(@TempDir Path tmp) throws Exception {
        Path data = TinyIdx.write(tmp.resolve("data"), 64, 32);
        Path out = tmp.resolve("out");
        List<String> args = args(data, out, "PyTorch", "--methods", "head", "--epochs", "1");
        run(args);
        Path head = out.resolve(ResultStore.CHECKPOINTS).resolve("head");
        assertFalse(Files.exists(head), "removed with the row saved");

        Files.createDirectories(head);
        Files.writeString(head.resolve(MethodCheckpoint.PROGRESS), "not a progress");
        run(args);
        assertFalse(Files.exists(head), "the method has its row: a leftover checkpoint goes");

        Path full = out.resolve(ResultStore.CHECKPOINTS).resolve("full");
        Files.createDirectories(full);
        Files.writeString(full.resolve(MethodCheckpoint.PROGRESS), "not a progress");
        List<String> more = args(data, out, "PyTorch", "--methods", "head,full", "--epochs", "1");
        String err = run(more, 1);
        assertTrue(
                err.startsWith("adapt: cannot resume full from its checkpoint in " + full)
                        && err.contains("--fresh")
                        && err.lines().count() == 1,
                err);

        more.add("--fresh");
        run(more);
        // the unreadable checkpoint discarded, and the new ones removed with their rows
        assertFalse(Files.exists(out.resolve(ResultStore.CHECKPOINTS)), "--fresh discards them");
        assertEquals(2, Results.read(out.resolve(Results.JSON)).rows().size());
    }

    /** Runs the program in-process; it must succeed. */
    private static void run(List<String> args) {
        run(args, 0);
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
