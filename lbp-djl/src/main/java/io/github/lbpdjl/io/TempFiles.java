package io.github.lbpdjl.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The locked temporary files behind {@link AtomicFiles}' saves: creating them, knowing which ones
 * this JVM is writing, and deleting those that dead writers left behind.
 *
 * <p>A temporary file is named {@code <prefix><digits>.tmp} (the prefix being {@code .<name>.} for
 * a target {@code name}) and is locked exclusively while its save runs; the operating system
 * releases the locks of a killed process, so a leftover is one whose lock can be taken. Files this
 * JVM is writing are never opened by a cleanup, since closing any channel on a file releases the
 * process's locks on it.
 */
final class TempFiles {

    /** Suffix of a temporary file. */
    static final String SUFFIX = ".tmp";

    /** Temporary files and folders this JVM is writing; never opened by the leftover cleanup. */
    private static final Set<Path> ACTIVE = ConcurrentHashMap.newKeySet();

    private TempFiles() {}

    /** A temporary file, open and locked. */
    static final class Temp {
        final Path path;
        final FileChannel channel;

        Temp(Path path, FileChannel channel) {
            this.path = path;
            this.channel = channel;
        }
    }

    /**
     * Creates a new temporary file and locks it. A cleanup in another process may delete the file
     * between its creation and the lock (it is unlocked then); that is seen after locking, and a
     * new name is tried. The file counts as being written by this JVM until {@link #release}.
     */
    static Temp lockedTempFile(Path dir, String prefix) throws IOException {
        for (int attempt = 0; attempt < 100; attempt++) {
            Path tmp =
                    dir.resolve(
                            prefix
                                    + Long.toUnsignedString(ThreadLocalRandom.current().nextLong())
                                    + SUFFIX);
            if (!ACTIVE.add(tmp)) {
                continue;
            }
            FileChannel ch = null;
            try {
                ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                try {
                    ch.lock();
                } catch (IOException e) {
                    // no locks on this file system: cleanups cannot lock either, so they skip it
                }
                if (Files.exists(tmp)) {
                    return new Temp(tmp, ch);
                }
                ch.close();
                ACTIVE.remove(tmp);
            } catch (FileAlreadyExistsException e) {
                ACTIVE.remove(tmp);
            } catch (IOException | RuntimeException e) {
                if (ch != null) {
                    ch.close();
                    Files.deleteIfExists(tmp);
                }
                ACTIVE.remove(tmp);
                throw e;
            }
        }
        throw new IOException(
                "cannot create a temporary file for " + prefix.substring(1) + "* in " + dir);
    }

    /** Marks a temporary file as no longer written by this JVM. */
    static void release(Path tmp) {
        ACTIVE.remove(tmp);
    }

    /** Whether this JVM is writing the temporary file. */
    static boolean isActive(Path tmp) {
        return ACTIVE.contains(tmp);
    }

    /** Whether a path is named like a temporary file for the prefix. */
    static boolean isLeftoverName(Path p, String prefix) {
        String n = p.getFileName().toString();
        if (!n.startsWith(prefix) || !n.endsWith(SUFFIX)) {
            return false;
        }
        String middle = n.substring(prefix.length(), n.length() - SUFFIX.length());
        return !middle.isEmpty() && middle.chars().allMatch(Character::isDigit);
    }

    /**
     * Deletes temporary files of earlier saves of the same target whose writer is gone: files named
     * {@code .<name>.<digits>.tmp} that this JVM is not writing and whose lock can be taken.
     */
    static void deleteLeftovers(Path dir, String prefix) {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path p : files) {
                if (!isLeftoverName(p, prefix) || ACTIVE.contains(p) || !Files.isRegularFile(p)) {
                    continue;
                }
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                    FileLock lock = ch.tryLock();
                    if (lock != null) {
                        Files.deleteIfExists(p);
                    }
                } catch (IOException | OverlappingFileLockException e) {
                    // in use, or gone already: leave it
                }
            }
        } catch (IOException e) {
            // the save itself succeeded; leftovers are retried next time
        }
    }

    /** Makes the rename durable (on file systems that allow forcing a folder). */
    static void forceFolder(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // not supported here (e.g. Windows): the file itself was forced
        }
    }
}
