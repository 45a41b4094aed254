package io.github.lbpdjl.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Kills a JVM at random moments while it saves a folder of two 16 MB files over and over with
 * {@link AtomicFiles#writeFolder}, and checks that {@link AtomicFiles#resolveFolder} always finds
 * one complete save, the one under way or the one before, and that the next save in another
 * process cleans up what the killed ones left.
 */
class AtomicFolderKillTest {

    static final int BYTES = 16 << 20;
    /** Kill rounds: at least MIN_ROUNDS, more (up to MAX_ROUNDS) until a kill has landed mid-save. */
    static final int MIN_ROUNDS = 4;
    static final int MAX_ROUNDS = 16;

    @TempDir Path dir;

    /** The child: saves generation start, start + 1, ... into the folder until it is killed. */
    public static final class SaveLoop {

        /**
         * Runs the loop.
         *
         * @param args the folder and the first generation
         * @throws IOException if a save fails
         */
        public static void main(String[] args) throws IOException {
            Path folder = Path.of(args[0]);
            for (int g = Integer.parseInt(args[1]); ; g++) {
                byte[] content = content(g); // made before "writing": a kill after it lands in the save
                System.out.println("writing " + g);
                System.out.flush();
                long t0 = System.nanoTime();
                save(folder, g, content);
                System.out.println("saved " + g + " " + (System.nanoTime() - t0) / 1_000_000);
                System.out.flush();
            }
        }
    }

    static byte[] content(int g) {
        byte[] content = new byte[BYTES];
        Arrays.fill(content, (byte) g);
        return content;
    }

    static void save(Path folder, int g, byte[] content) throws IOException {
        AtomicFiles.writeFolder(folder, f -> {
            Files.write(f.resolve("a.bin"), content);
            Files.write(f.resolve("b.bin"), content);
            Files.writeString(f.resolve("generation"), Integer.toString(g));
        });
    }

    /** Reads the saved folder completely and returns its generation; fails on anything partial. */
    static int check(Path folder) throws IOException {
        Path f = AtomicFiles.resolveFolder(folder);
        assertNotNull(f, "no folder at all");
        assertEquals(Set.of("a.bin", "b.bin", "generation"), names(f), "files of " + f);
        int g = Integer.parseInt(Files.readString(f.resolve("generation")));
        for (String name : List.of("a.bin", "b.bin")) {
            byte[] b = Files.readAllBytes(f.resolve(name));
            assertEquals(BYTES, b.length, name + " of generation " + g);
            for (int i = 0; i < b.length; i++) {
                if (b[i] != (byte) g) {
                    fail(name + " of generation " + g + " holds " + b[i] + " at byte " + i);
                }
            }
        }
        return g;
    }

    static Set<String> names(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }

    @Test
    void aKilledFolderSaveLeavesTheOldOrTheNewFolderNeverAPartOne() {
        assertTimeoutPreemptively(Duration.ofSeconds(120), this::killRounds);
    }

    private void killRounds() throws Exception {
        Path work = Files.createDirectories(dir.resolve("work"));
        Path folder = work.resolve("ck");
        save(folder, 0, content(0));
        Random random = new Random(7);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        int next = 1;
        int lastComplete = 0; // the newest generation known to be complete on disk
        int leftSomething = 0;
        long saveMillis = 0;
        for (int round = 0; round < MIN_ROUNDS || (leftSomething == 0 && round < MAX_ROUNDS); round++) {
            Path out = dir.resolve("child-" + round + ".out"); // a file: what the child printed last survives the kill
            Path err = dir.resolve("child-" + round + ".err");
            Process child = new ProcessBuilder(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-cp", System.getProperty("java.class.path"), SaveLoop.class.getName(),
                    folder.toString(), Integer.toString(next))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            int writesToSee = saveMillis == 0 ? 2 : 1 + random.nextInt(2);
            List<String> lines;
            while ((lines = Files.readAllLines(out)).stream().filter(l -> l.startsWith("writing ")).count()
                    < writesToSee) {
                if (!child.isAlive()) {
                    fail("child ended early: " + lines + " " + Files.readString(err));
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
            int writing = lines.stream().filter(l -> l.startsWith("writing ")).mapToInt(l -> Integer.parseInt(
                    l.split(" ")[1])).max().orElseThrow();
            // complete before the kill: the last save this child finished, else what was found before
            int before = lines.stream().filter(l -> l.startsWith("saved ")).mapToInt(l -> Integer.parseInt(
                    l.split(" ")[1])).max().orElse(lastComplete);
            int g = check(folder);
            assertTrue(g == writing || g == before, "folder holds generation " + g + " while " + writing
                    + " was being saved and " + before + " was the last complete; child said " + lines);
            lastComplete = g;
            if (!names(work).equals(Set.of("ck"))) {
                leftSomething++;
            }
            next = writing + 1;
        }
        assertTrue(leftSomething > 0, "no kill landed during a save (saves take " + saveMillis + " ms)");
        save(folder, next, content(next)); // this process: the killed ones' locks are free
        assertEquals(next, check(folder));
        assertEquals(Set.of("ck"), names(work));
    }
}
