package io.github.lbpdjl.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Atomic saves of whole folders, behind {@link AtomicFiles#writeFolder} and {@link
 * AtomicFiles#resolveFolder}.
 *
 * <p>The files are written into a temporary folder {@code .<name>.<digits>.tmp.d} beside the
 * target, guarded by its locked lock file {@code .<name>.<digits>.tmp} (see {@link TempFiles}),
 * each file and the folder forced to disk, and the folder swapped in by two renames (the old one to
 * {@code <name>.old}, the new one to the target name); then the parent folder is forced and the old
 * one deleted. A save killed between the two renames leaves {@code <name>.old} complete: {@link
 * #resolve} finds it and the next save restores it first. Temporary folders of dead saves are
 * deleted by later saves of the same target.
 */
final class AtomicFolders {

    /** Suffix of a temporary folder, after its lock file's name. */
    private static final String FOLDER_SUFFIX = ".d";

    private AtomicFolders() {}

    /** See {@link AtomicFiles#writeFolder}. */
    static void write(Path folder, AtomicFiles.FolderContent content) throws IOException {
        Path target = folder.toAbsolutePath();
        Path parent = target.getParent();
        Files.createDirectories(parent);
        String prefix = "." + target.getFileName() + ".";
        Path old = oldFolder(target);
        if (!Files.exists(target) && Files.isDirectory(old)) {
            // an earlier save was killed between its two renames: put the complete folder back
            Files.move(old, target, StandardCopyOption.ATOMIC_MOVE);
            TempFiles.forceFolder(parent);
        }
        // the lock file exists before the folder and is deleted after it: a temporary folder
        // without its lock file, or with a lock nobody holds, belongs to a dead save
        TempFiles.Temp lock = TempFiles.lockedTempFile(parent, prefix);
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
            TempFiles.forceFolder(parent);
        } finally {
            try {
                if (!swapped) {
                    deleteTree(tmp);
                }
                lock.channel.close();
                Files.deleteIfExists(lock.path);
            } finally {
                TempFiles.release(lock.path);
            }
        }
        deleteTree(old);
        deleteLeftoverFolders(parent, prefix);
    }

    /** See {@link AtomicFiles#resolveFolder}. */
    static Path resolve(Path folder) {
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
                    TempFiles.forceFolder(p);
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
                if (!n.endsWith(TempFiles.SUFFIX + FOLDER_SUFFIX) || !Files.isDirectory(p)) {
                    continue;
                }
                Path lockFile =
                        p.resolveSibling(n.substring(0, n.length() - FOLDER_SUFFIX.length()));
                // never open the lock file of a save this JVM is running: closing any channel on
                // a file releases the process's locks on it
                if (!TempFiles.isLeftoverName(lockFile, prefix) || TempFiles.isActive(lockFile)) {
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
        TempFiles.deleteLeftovers(parent, prefix);
    }
}
