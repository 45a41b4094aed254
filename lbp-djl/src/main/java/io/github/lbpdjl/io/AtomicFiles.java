package io.github.lbpdjl.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Saves files so that a reader, a crash or a killed process only ever sees the complete old or the
 * complete new content.
 *
 * <p>{@link #write(Path, Content)} writes to a temporary file {@code .<name>.<random>.tmp} in the
 * target's folder while holding an exclusive lock on it, forces it to disk, moves it over the
 * target with {@code ATOMIC_MOVE} ({@code REPLACE_EXISTING} only where the file system cannot move
 * atomically), then forces the folder. If anything fails the temporary file is deleted and the
 * target is untouched. A process killed mid-save cannot delete its temporary file; the next save of
 * the same target deletes such leftovers, recognised by their name and by their lock being free
 * (the operating system releases the locks of a dead process). On a file system without locks,
 * leftovers are kept.
 *
 * <p>{@link #writeFolder(Path, FolderContent)} does the same for a folder of files: they are
 * written into a temporary folder beside the target (guarded by a locked temporary file), each file
 * and the folder forced to disk, and the folder swapped in by two renames (the old one to {@code
 * <name>.old}, the new one to the target name), then the parent folder forced and the old one
 * deleted. {@link #resolveFolder(Path)} finds the complete folder even if a process was killed
 * between the two renames, and the next save restores it first, so no failure loses the last
 * complete folder.
 */
public final class AtomicFiles {

    private static final String SUFFIX = ".tmp";

    /** Suffix of a temporary folder, after its lock file's name. */
    private static final String FOLDER_SUFFIX = ".d";

    private static final int CHUNK = 1 << 20;

    /** Temporary files and folders this JVM is writing; never opened by the leftover cleanup. */
    private static final Set<Path> ACTIVE = ConcurrentHashMap.newKeySet();

    private AtomicFiles() {}

    /** Produces a file's content. */
    @FunctionalInterface
    public interface Content {

        /**
         * Writes the content; the stream is closed by {@link AtomicFiles} (closing it here only
         * flushes).
         *
         * @param out the stream to the temporary file
         * @throws IOException if writing fails
         */
        void writeTo(OutputStream out) throws IOException;
    }

    /** Writes the files of a folder. */
    @FunctionalInterface
    public interface FolderContent {

        /**
         * Writes the folder's files (and subfolders) into {@code folder}, which exists and is
         * empty.
         *
         * @param folder the temporary folder
         * @throws IOException if writing fails
         */
        void writeTo(Path folder) throws IOException;
    }

    /**
     * Saves text as UTF-8, atomically.
     *
     * @param file the target
     * @param text the text
     * @throws IOException if saving fails (the target is then unchanged)
     */
    public static void writeString(Path file, String text) throws IOException {
        write(file, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Saves bytes, atomically.
     *
     * @param file the target
     * @param bytes the content
     * @throws IOException if saving fails (the target is then unchanged)
     */
    public static void write(Path file, byte[] bytes) throws IOException {
        write(file, out -> out.write(bytes));
    }

    /**
     * Saves the content a callback writes, atomically. The target's folder is created if needed; an
     * existing target's POSIX permissions are kept.
     *
     * @param file the target
     * @param content writes the content
     * @throws IOException if saving fails (the target is then unchanged)
     */
    public static void write(Path file, Content content) throws IOException {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        Files.createDirectories(dir);
        String prefix = "." + target.getFileName() + ".";
        Temp tmp = lockedTempFile(dir, prefix);
        boolean moved = false;
        try {
            try (FileChannel ch = tmp.channel) {
                try (OutputStream out = new BufferedOutputStream(new ChannelStream(ch), 1 << 16)) {
                    content.writeTo(out);
                }
                ch.force(true);
                keepPermissions(tmp.path, target);
                try {
                    Files.move(tmp.path, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp.path, target, StandardCopyOption.REPLACE_EXISTING);
                }
                moved = true;
            }
        } finally {
            try {
                if (!moved) {
                    Files.deleteIfExists(tmp.path);
                }
            } finally {
                ACTIVE.remove(tmp.path);
            }
        }
        forceFolder(dir);
        deleteLeftovers(dir, prefix);
    }

    /**
     * Saves a folder of files, atomically as a whole: a reader, a crash or a killed process only
     * ever finds the complete old or the complete new folder (through {@link
     * #resolveFolder(Path)}). The parent folder is created if needed.
     *
     * @param folder the target folder
     * @param content writes the files
     * @throws IOException if saving fails (the previous folder is then unchanged)
     */
    public static void writeFolder(Path folder, FolderContent content) throws IOException {
        Path target = folder.toAbsolutePath();
        Path parent = target.getParent();
        Files.createDirectories(parent);
        String prefix = "." + target.getFileName() + ".";
        Path old = oldFolder(target);
        if (!Files.exists(target) && Files.isDirectory(old)) {
            // an earlier save was killed between its two renames: put the complete folder back
            Files.move(old, target, StandardCopyOption.ATOMIC_MOVE);
            forceFolder(parent);
        }
        // the lock file exists before the folder and is deleted after it: a temporary folder
        // without its lock file, or with a lock nobody holds, belongs to a dead save
        Temp lock = lockedTempFile(parent, prefix);
        Path tmp = lock.path.resolveSibling(lock.path.getFileName() + FOLDER_SUFFIX);
        boolean swapped = false;
        try {
            Files.createDirectory(tmp);
            content.writeTo(tmp);
            forceTree(tmp);
            deleteTree(old);
            if (Files.exists(target)) {
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            swapped = true;
            forceFolder(parent);
        } finally {
            try {
                if (!swapped) {
                    deleteTree(tmp);
                }
                lock.channel.close();
                Files.deleteIfExists(lock.path);
            } finally {
                ACTIVE.remove(lock.path);
            }
        }
        deleteTree(old);
        deleteLeftoverFolders(parent, prefix);
    }

    /**
     * Returns the complete folder last saved by {@link #writeFolder(Path, FolderContent)}: {@code
     * folder}, or {@code <folder>.old} if a save was killed between its two renames.
     *
     * @param folder the target folder
     * @return the folder to read, or null if there is none
     */
    public static Path resolveFolder(Path folder) {
        Path target = folder.toAbsolutePath();
        if (Files.isDirectory(target)) {
            return target;
        }
        Path old = oldFolder(target);
        return Files.isDirectory(old) ? old : null;
    }

    private static Path oldFolder(Path target) {
        return target.resolveSibling(target.getFileName() + ".old");
    }

    /** Forces every file and folder under root to disk, folders after their entries. */
    private static void forceTree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                if (Files.isDirectory(p)) {
                    forceFolder(p);
                } else if (Files.isRegularFile(p)) {
                    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                        ch.force(true);
                    }
                }
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    /**
     * Deletes temporary folders of earlier folder saves of the same target whose writer is gone:
     * folders {@code .<name>.<digits>.tmp.d} whose lock file {@code .<name>.<digits>.tmp} is
     * missing or can be locked, then the lock files of dead writers.
     */
    private static void deleteLeftoverFolders(Path parent, String prefix) {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(parent)) {
            for (Path p : entries) {
                String n = p.getFileName().toString();
                if (!n.endsWith(SUFFIX + FOLDER_SUFFIX) || !Files.isDirectory(p)) {
                    continue;
                }
                Path lockFile =
                        p.resolveSibling(n.substring(0, n.length() - FOLDER_SUFFIX.length()));
                // never open the lock file of a save this JVM is running: closing any channel on
                // a file releases the process's locks on it
                if (!isLeftoverName(lockFile, prefix) || ACTIVE.contains(lockFile)) {
                    continue;
                }
                boolean dead = !Files.exists(lockFile);
                if (!dead) {
                    try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
                        dead = ch.tryLock() != null;
                    } catch (IOException | OverlappingFileLockException e) {
                        // held by a live save, or gone: leave it
                    }
                }
                if (dead) {
                    try {
                        deleteTree(p);
                    } catch (IOException e) {
                        // retried next time
                    }
                }
            }
        } catch (IOException e) {
            // the save itself succeeded; leftovers are retried next time
        }
        deleteLeftovers(parent, prefix);
    }

    private static boolean isLeftoverName(Path p, String prefix) {
        String n = p.getFileName().toString();
        if (!n.startsWith(prefix) || !n.endsWith(SUFFIX)) {
            return false;
        }
        String middle = n.substring(prefix.length(), n.length() - SUFFIX.length());
        return !middle.isEmpty() && middle.chars().allMatch(Character::isDigit);
    }

    /** A temporary file, open and locked. */
    private static final class Temp {
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
     * new name is tried.
     */
    private static Temp lockedTempFile(Path dir, String prefix) throws IOException {
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

    /**
     * Deletes temporary files of earlier saves of the same target whose writer is gone: files named
     * {@code .<name>.<digits>.tmp} that this JVM is not writing and whose lock can be taken.
     */
    private static void deleteLeftovers(Path dir, String prefix) {
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
    private static void forceFolder(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // not supported here (e.g. Windows): the file itself was forced
        }
    }

    /** A new file gets the process's default permissions; a replaced file keeps its own. */
    private static void keepPermissions(Path tmp, Path target) {
        try {
            if (Files.exists(target)) {
                Files.setPosixFilePermissions(tmp, Files.getPosixFilePermissions(target));
            }
        } catch (UnsupportedOperationException | IOException e) {
            // not a POSIX file system: keep the defaults
        }
    }

    /** Writes to a channel in chunks (no heap-to-direct copy of a whole large array). */
    private static final class ChannelStream extends OutputStream {
        private final FileChannel ch;

        ChannelStream(FileChannel ch) {
            this.ch = ch;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            java.util.Objects.checkFromIndexSize(off, len, b.length);
            for (int p = off, end = off + len; p < end; ) {
                ByteBuffer bb = ByteBuffer.wrap(b, p, Math.min(CHUNK, end - p));
                while (bb.hasRemaining()) {
                    p += ch.write(bb);
                }
            }
        }

        @Override
        public void close() {
            // the channel is closed by write(Path, Content)
        }
    }
}
