package io.github.lbpdjl.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * Kills a child JVM at random moments while it saves generation 1, 2, 3, ... of something over the
 * same place, and checks after every kill that what is on disk is one complete save: the one under
 * way or the last one completed before it.
 */
public final class KilledSaves {

    private KilledSaves() {}

    /** One save of the child, prepared before it announces it. */
    @FunctionalInterface
    public interface Save {
        /**
         * Saves.
         *
         * @throws IOException if saving fails
         */
        void run() throws IOException;
    }

    /** Makes the save of a generation (its content built, not yet written). */
    @FunctionalInterface
    public interface Generation {
        /**
         * Prepares generation g.
         *
         * @param g the generation
         * @return the save to run
         */
        Save prepare(int g);
    }

    /** What the parent checks after each kill. */
    public interface OnDisk {
        /**
         * Reads what is saved completely, failing on anything partial.
         *
         * @return its generation
         * @throws IOException if it cannot be read
         */
        int check() throws IOException;

        /**
         * Whether a killed save left something behind (a temporary file or folder).
         *
         * @return true if so
         * @throws IOException if the folder cannot be listed
         */
        boolean leftovers() throws IOException;
    }

    /**
     * The child's loop: prints "writing g", saves, prints "saved g millis", for g = start, start +
     * 1, ... until killed.
     *
     * @param start the first generation
     * @param generation makes each save
     * @throws IOException if a save fails
     */
    public static void childLoop(int start, Generation generation) throws IOException {
        for (int g = start; ; g++) {
            Save save =
                    generation.prepare(g); // before "writing": a kill after it lands in the save
            System.out.println("writing " + g);
            System.out.flush();
            long t0 = System.nanoTime();
            save.run();
            System.out.println("saved " + g + " " + (System.nanoTime() - t0) / 1_000_000);
            System.out.flush();
        }
    }

    /**
     * Runs kill rounds: at least {@code minRounds}, more (up to {@code maxRounds}) until a kill has
     * landed in the middle of a save (something left behind), which it then asserts.
     *
     * @param child the child's main class, whose {@code main(target, start)} runs {@link
     *     #childLoop}
     * @param target the path the child saves to (its first argument)
     * @param scratch a folder for the child's output
     * @param onDisk checks what is saved
     * @param minRounds the fewest rounds
     * @param maxRounds the most rounds
     * @param seed the seed of the kill times
     * @return the next generation, for a last save by the caller
     * @throws Exception if a child cannot be run or a check fails
     */
    public static int run(
            Class<?> child,
            Path target,
            Path scratch,
            OnDisk onDisk,
            int minRounds,
            int maxRounds,
            long seed)
            throws Exception {
        Random random = new Random(seed);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        int next = 1;
        int lastComplete = onDisk.check();
        int leftSomething = 0;
        long saveMillis = 0;
        for (int round = 0;
                round < minRounds || (leftSomething == 0 && round < maxRounds);
                round++) {
            // output to files: destroyForcibly closes a pipe, and what the child printed just
            // before
            // it died tells which save was under way
            Path out = scratch.resolve("child-" + round + ".out");
            Path err = scratch.resolve("child-" + round + ".err");
            Process p =
                    new ProcessBuilder(
                                    java,
                                    "-Xmx512m",
                                    "-XX:+UseSerialGC",
                                    "-XX:TieredStopAtLevel=1",
                                    "-cp",
                                    System.getProperty("java.class.path"),
                                    child.getName(),
                                    target.toString(),
                                    Integer.toString(next))
                            .redirectOutput(out.toFile())
                            .redirectError(err.toFile())
                            .start();
            // the first round learns how long a save takes; later rounds kill during one
            int writesToSee = saveMillis == 0 ? 2 : 1 + random.nextInt(2);
            List<String> lines;
            while ((lines = Files.readAllLines(out))
                            .stream().filter(l -> l.startsWith("writing ")).count()
                    < writesToSee) {
                if (!p.isAlive()) {
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
            p.destroyForcibly();
            p.waitFor();
            lines = Files.readAllLines(out);
            Files.delete(out);
            Files.delete(err);
            int writing = last(lines, "writing ", -1);
            // complete before the kill: the last save this child finished, else what was found
            // before
            int before = last(lines, "saved ", lastComplete);
            int g = onDisk.check();
            assertTrue(
                    g == writing || g == before,
                    "generation "
                            + g
                            + " on disk while "
                            + writing
                            + " was being saved and "
                            + before
                            + " was the last complete; child said "
                            + lines);
            lastComplete = g;
            if (onDisk.leftovers()) {
                leftSomething++;
            }
            next = writing + 1;
        }
        assertTrue(
                leftSomething > 0,
                "no kill landed during a save (saves take " + saveMillis + " ms)");
        return next;
    }

    private static int last(List<String> lines, String prefix, int none) {
        return lines.stream()
                .filter(l -> l.startsWith(prefix))
                .mapToInt(l -> Integer.parseInt(l.split(" ")[1]))
                .max()
                .orElse(none);
    }
}
