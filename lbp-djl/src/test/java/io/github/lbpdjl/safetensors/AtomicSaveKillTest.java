package io.github.lbpdjl.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Kills a JVM in the middle of saving a 48 MB safetensors file, several times at random moments,
 * and checks that the file is always the complete previous or the complete new save, and that
 * the temporary file a killed save leaves behind is removed by the next save.
 */
class AtomicSaveKillTest {

    /** 12M floats: a save takes long enough to be killed in the middle. */
    static final int FLOATS = 12 << 20;
    static final int ROUNDS = 4;

    @TempDir Path dir;

    /** The child: saves generation 1, 2, 3, ... over the same file until it is killed. */
    public static final class SaveLoop {

        /**
         * Runs the loop.
         *
         * @param args the target file
         * @throws IOException if a save fails
         */
        public static void main(String[] args) throws IOException {
            Path file = Path.of(args[0]);
            int start = Integer.parseInt(args[1]);
            for (int g = start; ; g++) {
                Map<String, Tensor> tensors = generation(g);
                System.out.println("writing " + g);
                System.out.flush();
                long t0 = System.nanoTime();
                SafetensorsWriter.write(file, tensors, Map.of("generation", Integer.toString(g)));
                System.out.println("saved " + g + " " + (System.nanoTime() - t0) / 1_000_000);
                System.out.flush();
            }
        }
    }

    /** A save's content: every value of "big" is g, "tag" is [g]. */
    static Map<String, Tensor> generation(int g) {
        ByteBuffer bb = ByteBuffer.allocate(4 * FLOATS).order(ByteOrder.LITTLE_ENDIAN);
        while (bb.hasRemaining()) {
            bb.putFloat(g);
        }
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("tag", Tensor.fromFloats(new float[] {g}, new long[] {1}, DType.F32));
        t.put("big", new Tensor(DType.F32, new long[] {FLOATS}, bb.array()));
        return t;
    }

    /** Reads the file completely and returns its generation; fails on anything partial. */
    static int check(Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            int g = (int) f.get("tag").toFloatArray()[0];
            assertEquals(Integer.toString(g), f.getMetadata().get("generation"));
            ByteBuffer big = ByteBuffer.wrap(f.get("big").getData()).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(FLOATS, big.remaining() / 4);
            while (big.hasRemaining()) {
                float v = big.getFloat();
                if (v != g) {
                    fail("generation " + g + " holds " + v + " at float " + (big.position() / 4 - 1));
                }
            }
            return g;
        }
    }

    private List<Path> temporaryFiles(Path file) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> !p.equals(file)).collect(Collectors.toList());
        }
    }

    @Test
    void aKilledSaveLeavesTheOldOrTheNewFileNeverAPartOne() {
        assertTimeoutPreemptively(Duration.ofSeconds(120), this::killRounds);
    }

    private void killRounds() throws Exception {
        Path file = dir.resolve("model.safetensors");
        SafetensorsWriter.write(file, generation(0), Map.of("generation", "0"));
        Random random = new Random(42);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        int next = 1;
        int lastComplete = 0; // the newest generation known to be complete on disk
        int killedMidWrite = 0;
        long saveMillis = 0;
        for (int round = 0; round < ROUNDS; round++) {
            // stdout goes to a file: destroyForcibly closes a pipe, and what the child printed
            // just before it died is needed to know which save was under way
            Path out = dir.resolve("child-" + round + ".out");
            Path err = dir.resolve("child-" + round + ".err");
            Process child = new ProcessBuilder(java, "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-cp", System.getProperty("java.class.path"), SaveLoop.class.getName(),
                    file.toString(), Integer.toString(next))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            // the first round learns how long a save takes; later rounds kill during one
            int writesToSee = saveMillis == 0 ? 2 : 1 + random.nextInt(2);
            List<String> lines;
            while ((lines = Files.readAllLines(out)).stream().filter(l -> l.startsWith("writing ")).count()
                    < writesToSee) {
                if (!child.isAlive()) {
                    fail("child ended early: " + Files.readAllLines(out) + " " + Files.readString(err));
                }
                Thread.sleep(1);
            }
            for (String l : lines) {
                if (l.startsWith("saved ")) {
                    saveMillis = Math.max(1, Long.parseLong(l.split(" ")[2]));
                }
            }
            Thread.sleep((long) (random.nextDouble() * saveMillis));
            child.destroyForcibly();
            child.waitFor();
            lines = Files.readAllLines(out);
            Files.delete(out);
            Files.delete(err);
            int writing = lines.stream().filter(l -> l.startsWith("writing ")).mapToInt(l -> Integer.parseInt(
                    l.split(" ")[1])).max().orElseThrow();
            // complete before the kill: the last save this child finished, else what was found before
            int before = lines.stream().filter(l -> l.startsWith("saved ")).mapToInt(l -> Integer.parseInt(
                    l.split(" ")[1])).max().orElse(lastComplete);
            int g = check(file);
            assertTrue(g == writing || g == before, "file holds generation " + g + " while " + writing
                    + " was being saved and " + before + " was the last complete; child said " + lines);
            lastComplete = g;
            if (!temporaryFiles(file).isEmpty()) {
                killedMidWrite++;
            }
            next = writing + 1;
        }
        assertTrue(killedMidWrite > 0, "no kill landed during a save (saves take " + saveMillis + " ms)");
        // a later save works and removes what the killed saves left
        SafetensorsWriter.write(file, generation(next), Map.of("generation", Integer.toString(next)));
        assertEquals(next, check(file));
        assertEquals(List.of(), temporaryFiles(file));
    }
}
