package io.github.lbpdjl.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

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

    private static final int CHUNK = 1 << 20;

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
        TempFiles.Temp tmp = TempFiles.lockedTempFile(dir, prefix);
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
                TempFiles.release(tmp.path);
            }
        }
        TempFiles.forceFolder(dir);
        TempFiles.deleteLeftovers(dir, prefix);
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
        AtomicFolders.write(folder, content);
    }

    /**
     * Returns the complete folder last saved by {@link #writeFolder(Path, FolderContent)}: {@code
     * folder}, or {@code <folder>.old} if a save was killed between its two renames.
     *
     * @param folder the target folder
     * @return the folder to read, or null if there is none
     */
    public static Path resolveFolder(Path folder) {
        return AtomicFolders.resolve(folder);
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
