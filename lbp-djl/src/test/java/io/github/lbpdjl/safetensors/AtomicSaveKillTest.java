package io.github.lbpdjl.safetensors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.lbpdjl.testing.KilledSaves;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a JVM in the middle of saving a 48 MB safetensors file, several times at random moments,
 * and checks that the file is always the complete previous or the complete new save, and that the
 * temporary file a killed save leaves behind is removed by the next save ({@link KilledSaves}).
 */
class AtomicSaveKillTest {

    /** 12M floats: a save takes long enough to be killed in the middle. */
    static final int FLOATS = 12 << 20;

    static final int ROUNDS = 4;

    @TempDir Path dir;

    /** The child: saves generation start, start + 1, ... over the same file until it is killed. */
    public static final class SaveLoop {

        /**
         * Runs the loop.
         *
         * @param args the target file and the first generation
         * @throws IOException if a save fails
         */
        public static void main(String[] args) throws IOException {
            Path file = Path.of(args[0]);
            KilledSaves.childLoop(
                    Integer.parseInt(args[1]),
                    g -> {
                        Map<String, Tensor> tensors = generation(g);
                        return () ->
                                SafetensorsWriter.write(
                                        file, tensors, Map.of("generation", Integer.toString(g)));
                    });
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
                    fail(
                            "generation "
                                    + g
                                    + " holds "
                                    + v
                                    + " at float "
                                    + (big.position() / 4 - 1));
                }
            }
            return g;
        }
    }

    private static List<Path> temporaryFiles(Path work, Path file) throws IOException {
        try (Stream<Path> s = Files.list(work)) {
            return s.filter(p -> !p.equals(file)).collect(Collectors.toList());
        }
    }

    @Test
    void aKilledSaveLeavesTheOldOrTheNewFileNeverAPartOne() {
        assertTimeoutPreemptively(
                Duration.ofSeconds(120),
                () -> {
                    Path work = Files.createDirectories(dir.resolve("work"));
                    Path file = work.resolve("model.safetensors");
                    SafetensorsWriter.write(file, generation(0), Map.of("generation", "0"));
                    KilledSaves.OnDisk onDisk =
                            new KilledSaves.OnDisk() {
                                @Override
                                public int check() throws IOException {
                                    return AtomicSaveKillTest.check(file);
                                }

                                @Override
                                public boolean leftovers() throws IOException {
                                    return !temporaryFiles(work, file).isEmpty();
                                }
                            };
                    int next =
                            KilledSaves.run(
                                    SaveLoop.class, file, dir, onDisk, ROUNDS, 4 * ROUNDS, 42);
                    // a later save works and removes what the killed saves left
                    SafetensorsWriter.write(
                            file, generation(next), Map.of("generation", Integer.toString(next)));
                    assertEquals(next, check(file));
                    assertEquals(List.of(), temporaryFiles(work, file));
                });
    }
}
