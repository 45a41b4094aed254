package io.github.lbpdjl.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.lbpdjl.testing.KilledSaves;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a JVM at random moments while it saves a folder of two 16 MB files over and over with
 * {@link AtomicFiles#writeFolder}, and checks that {@link AtomicFiles#resolveFolder} always finds
 * one complete save, the one under way or the one before, and that the next save in another process
 * cleans up what the killed ones left.
 */
class AtomicFolderKillTest {

    static final int BYTES = 16 << 20;

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
            KilledSaves.childLoop(Integer.parseInt(args[1]), g -> save(folder, g));
        }
    }

    /**
     * Prepares generation g: two files of BYTES bytes, each byte g, and the generation's number.
     */
    static KilledSaves.Save save(Path folder, int g) {
        byte[] content = new byte[BYTES];
        Arrays.fill(content, (byte) g);
        return () ->
                AtomicFiles.writeFolder(
                        folder,
                        f -> {
                            Files.write(f.resolve("a.bin"), content);
                            Files.write(f.resolve("b.bin"), content);
                            Files.writeString(f.resolve("generation"), Integer.toString(g));
                        });
    }

    /** Reads the saved folder completely and returns its generation; fails on anything partial. */
    static int check(Path folder) throws IOException {
        Path f = AtomicFiles.resolveFolder(folder);
        assertNotNull(f, "no folder at all");
        assertEquals(
                Set.of("a.bin", "b.bin", "generation"), AtomicFilesTest.names(f), "files of " + f);
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

    @Test
    void aKilledFolderSaveLeavesTheOldOrTheNewFolderNeverAPartOne() {
        assertTimeoutPreemptively(
                Duration.ofSeconds(120),
                () -> {
                    Path work = Files.createDirectories(dir.resolve("work"));
                    Path folder = work.resolve("ck");
                    save(folder, 0).run();
                    KilledSaves.OnDisk onDisk =
                            new KilledSaves.OnDisk() {
                                @Override
                                public int check() throws IOException {
                                    return AtomicFolderKillTest.check(folder);
                                }

                                @Override
                                public boolean leftovers() throws IOException {
                                    return !AtomicFilesTest.names(work).equals(Set.of("ck"));
                                }
                            };
                    int next = KilledSaves.run(SaveLoop.class, folder, dir, onDisk, 4, 16, 7);
                    save(folder, next).run(); // this process: the killed ones' locks are free
                    assertEquals(next, check(folder));
                    assertEquals(Set.of("ck"), AtomicFilesTest.names(work));
                });
    }
}
