package io.github.lbpdjl.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {

    @TempDir Path dir;

    private Set<String> names() throws IOException {
        return names(dir);
    }

    @Test
    void writesAndReplaces() throws IOException {
        Path f = dir.resolve("sub/a.txt");
        AtomicFiles.writeString(f, "one");
        assertEquals("one", Files.readString(f));
        AtomicFiles.write(
                f,
                out -> {
                    out.write("tw".getBytes());
                    out.write('o');
                    out.close(); // closing inside only flushes
                });
        assertEquals("two", Files.readString(f));
        byte[] big = new byte[3 << 20];
        big[big.length - 1] = 7;
        AtomicFiles.write(f, big);
        assertEquals(7, Files.readAllBytes(f)[big.length - 1]);
        assertEquals(Set.of("a.txt"), names(dir.resolve("sub")));
    }

    static Set<String> names(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }

    @Test
    void aFailingWriteLeavesTheOldFileAndNoTemporaryFile() throws IOException {
        Path f = dir.resolve("keep.txt");
        AtomicFiles.writeString(f, "old");
        IOException boom = new IOException("disk full");
        IOException e =
                assertThrows(
                        IOException.class,
                        () ->
                                AtomicFiles.write(
                                        f,
                                        out -> {
                                            out.write(new byte[5 << 20]);
                                            throw boom;
                                        }));
        assertSame(boom, e);
        assertThrows(
                IllegalStateException.class,
                () ->
                        AtomicFiles.write(
                                f,
                                out -> {
                                    throw new IllegalStateException("bug");
                                }));
        assertEquals("old", Files.readString(f));
        assertEquals(Set.of("keep.txt"), names());
    }

    @Test
    void keepsThePermissionsOfTheFileItReplaces() throws IOException {
        Path f = dir.resolve("p.txt");
        AtomicFiles.writeString(f, "x");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r-----"));
        AtomicFiles.writeString(f, "y");
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
    }

    @Test
    void deletesOnlyLeftoversOfDeadWriters() throws IOException {
        Path f = dir.resolve("m.bin");
        Files.writeString(dir.resolve(".m.bin.123.tmp"), "left by a killed process");
        Files.writeString(dir.resolve(".m.bin.x1.tmp"), "not our name pattern");
        Files.writeString(dir.resolve(".other.bin.5.tmp"), "another target's");
        Path live = dir.resolve(".m.bin.456.tmp");
        Files.writeString(live, "being written");
        try (FileChannel ch = FileChannel.open(live, StandardOpenOption.WRITE);
                FileLock lock = ch.lock()) {
            AtomicFiles.writeString(f, "new");
            assertTrue(lock.isValid());
        }
        assertEquals(
                Set.of("m.bin", ".m.bin.x1.tmp", ".other.bin.5.tmp", ".m.bin.456.tmp"), names());
        AtomicFiles.writeString(f, "newer");
        assertEquals(Set.of("m.bin", ".m.bin.x1.tmp", ".other.bin.5.tmp"), names());
        assertEquals("newer", Files.readString(f));
    }

    @Test
    void replacesAFolderAsAWhole() throws IOException {
        Path ck = dir.resolve("ck");
        AtomicFiles.writeFolder(
                ck,
                f -> {
                    Files.writeString(f.resolve("a.txt"), "1");
                    Files.createDirectories(f.resolve("sub"));
                    Files.writeString(f.resolve("sub/b.txt"), "2");
                });
        assertEquals(Set.of("a.txt", "sub"), names(ck));
        assertEquals("2", Files.readString(ck.resolve("sub/b.txt")));
        AtomicFiles.writeFolder(ck, f -> Files.writeString(f.resolve("c.txt"), "3"));
        assertEquals(Set.of("c.txt"), names(ck)); // nothing of the old folder is left in it
        assertEquals(Set.of("ck"), names()); // no .old, no temporary folder
        assertEquals(ck, AtomicFiles.resolveFolder(ck));
    }

    @Test
    void aFailingFolderSaveKeepsTheOldFolder() throws IOException {
        Path ck = dir.resolve("ck");
        AtomicFiles.writeFolder(ck, f -> Files.writeString(f.resolve("a.txt"), "old"));
        IOException full = new IOException("disk full");
        assertSame(
                full,
                assertThrows(
                        IOException.class,
                        () ->
                                AtomicFiles.writeFolder(
                                        ck,
                                        f -> {
                                            Files.writeString(f.resolve("a.txt"), "half");
                                            throw full;
                                        })));
        assertThrows(
                IllegalStateException.class,
                () ->
                        AtomicFiles.writeFolder(
                                ck,
                                f -> {
                                    throw new IllegalStateException("bug");
                                }));
        assertEquals("old", Files.readString(ck.resolve("a.txt")));
        assertEquals(Set.of("a.txt"), names(ck));
        assertEquals(Set.of("ck"), names());
    }

    @Test
    void aSaveKilledBetweenTheRenamesLosesNothing() throws IOException {
        Path ck = dir.resolve("ck");
        Path old = dir.resolve("ck.old");
        Files.createDirectories(old); // what a kill after the first rename leaves
        Files.writeString(old.resolve("a.txt"), "complete");
        assertEquals(old, AtomicFiles.resolveFolder(ck));
        assertThrows(
                IOException.class,
                () ->
                        AtomicFiles.writeFolder(
                                ck,
                                f -> {
                                    throw new IOException("fails too");
                                }));
        assertEquals(ck, AtomicFiles.resolveFolder(ck)); // put back before the failing save began
        assertEquals("complete", Files.readString(ck.resolve("a.txt")));
        AtomicFiles.writeFolder(ck, f -> Files.writeString(f.resolve("a.txt"), "new"));
        assertEquals("new", Files.readString(ck.resolve("a.txt")));
        assertEquals(Set.of("ck"), names());
        assertEquals(null, AtomicFiles.resolveFolder(dir.resolve("none")));
    }

    @Test
    void deletesOnlyLeftoverFoldersOfDeadWriters() throws IOException {
        // a dead save: its lock file is there, unlocked
        Path dead = Files.createDirectories(dir.resolve(".ck.123.tmp.d"));
        Files.writeString(dead.resolve("weights"), "left by a killed process");
        Files.writeString(dir.resolve(".ck.123.tmp"), "");
        // a dead save whose lock file was deleted already, and a dead one's lock file alone
        Files.createDirectories(dir.resolve(".ck.789.tmp.d"));
        Files.writeString(dir.resolve(".ck.321.tmp"), "");
        // a live save (its lock is held) and another target's leftover
        Path live = Files.createDirectories(dir.resolve(".ck.456.tmp.d"));
        Files.writeString(dir.resolve(".ck.456.tmp"), "");
        Files.createDirectories(dir.resolve(".other.5.tmp.d"));
        try (FileChannel ch =
                        FileChannel.open(dir.resolve(".ck.456.tmp"), StandardOpenOption.WRITE);
                FileLock lock = ch.lock()) {
            AtomicFiles.writeFolder(
                    dir.resolve("ck"), f -> Files.writeString(f.resolve("a.txt"), "x"));
            assertTrue(lock.isValid());
        }
        assertEquals(Set.of("ck", ".ck.456.tmp", ".ck.456.tmp.d", ".other.5.tmp.d"), names());
        assertTrue(Files.isDirectory(live));
        AtomicFiles.writeFolder(dir.resolve("ck"), f -> Files.writeString(f.resolve("a.txt"), "y"));
        assertEquals(Set.of("ck", ".other.5.tmp.d"), names()); // the lock is free now
    }
}
