package io.github.lbpdjl.examples.adapt;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import com.google.gson.Gson;
import com.google.gson.JsonParseException;
import io.github.lbpdjl.checkpoint.ResumableAdamW;
import io.github.lbpdjl.checkpoint.TrainingCheckpoint;
import io.github.lbpdjl.io.AtomicFiles;
import io.github.lbpdjl.training.StatefulListener;
import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A method's checkpoint ({@code --checkpoint-every N}) in {@code --out/checkpoints/<method>/}: the
 * library's {@link TrainingCheckpoint} (weights, optimizer and listener state) in one of two slots,
 * {@code a} and {@code b}, and {@value #PROGRESS}, which names the slot of the latest complete
 * checkpoint and holds what the method's row needs of the steps before it: the step reached, the
 * step times, the loss curve and the log's epoch. A save writes the slot that {@value #PROGRESS}
 * does not name, then {@value #PROGRESS}, each atomically: a run killed at any moment leaves a
 * {@value #PROGRESS} and a slot that belong together.
 */
final class MethodCheckpoint {

    /** The file that names the latest complete checkpoint and the run's progress at it. */
    static final String PROGRESS = "progress.json";

    private static final Gson GSON = new Gson();

    private final Path dir;
    private final String method;
    private Progress latest;

    private MethodCheckpoint(Path dir, String method) {
        this.dir = dir;
        this.method = method;
    }

    /**
     * Opens a method's checkpoint folder (which need not exist yet).
     *
     * @param checkpoints the folder of every method's checkpoint ({@code --out/checkpoints})
     * @param method the method's name
     * @return the checkpoint
     */
    static MethodCheckpoint of(Path checkpoints, String method) {
        return new MethodCheckpoint(checkpoints.resolve(Results.folderName(method)), method);
    }

    /**
     * Returns the folder.
     *
     * @return {@code --out/checkpoints/<method>}
     */
    Path dir() {
        return dir;
    }

    /**
     * Reads the progress of the latest checkpoint.
     *
     * @return the progress, or null if there is no checkpoint
     * @throws IOException if there is one that cannot be read
     */
    Progress read() throws IOException {
        Path file = dir.resolve(PROGRESS);
        if (!Files.exists(file)) {
            return null;
        }
        Progress p;
        try {
            p = GSON.fromJson(Files.readString(file), Progress.class);
        } catch (JsonParseException e) {
            String why = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            throw unusable(file + " is not a checkpoint's progress (" + why + ")", e);
        }
        if (p == null
                || !method.equals(p.method)
                || !List.of("a", "b").contains(p.slot)
                || p.step < 1
                || p.stepNanos == null
                || p.stepNanos.size() != p.step
                || p.log == null
                || p.log.curve == null
                || p.log.curve.points == null) {
            throw unusable(file + " is not a checkpoint's progress of " + method, null);
        }
        latest = p;
        return p;
    }

    /**
     * Saves a checkpoint: the training state into the slot the latest does not use, then the
     * progress naming it.
     *
     * @param model the model being trained
     * @param optimizer its optimizer
     * @param listener its LBP-WHT listener, or null
     * @param p the progress at this step; its slot and method are set here
     * @throws IOException if writing fails; the latest checkpoint is then untouched
     */
    void save(Model model, ResumableAdamW optimizer, StatefulListener listener, Progress p)
            throws IOException {
        p.method = method;
        p.slot = latest != null && latest.slot.equals("a") ? "b" : "a";
        TrainingCheckpoint.save(dir.resolve(p.slot), model, optimizer, listener);
        AtomicFiles.writeString(dir.resolve(PROGRESS), GSON.toJson(p));
        latest = p;
    }

    /**
     * Loads the latest checkpoint's weights into the model, built as when it was saved (the method
     * applied, the trainer created). Call {@link #read} first.
     *
     * @param model the model
     * @throws IOException if they cannot be read or do not fit the model
     */
    void loadWeights(Model model) throws IOException {
        try {
            TrainingCheckpoint.loadWeights(slot(), model);
        } catch (MalformedModelException e) {
            throw unusable(e.getMessage(), e);
        }
    }

    /**
     * Loads the latest checkpoint's optimizer and listener state; call after the trainer is
     * initialised.
     *
     * @param model the model
     * @param optimizer the optimizer the trainer uses
     * @param listener the LBP-WHT listener the trainer uses, or null
     * @throws IOException if it cannot be read or does not fit
     */
    void loadState(Model model, ResumableAdamW optimizer, StatefulListener listener)
            throws IOException {
        try {
            TrainingCheckpoint.loadState(slot(), model, optimizer, listener);
        } catch (IllegalArgumentException e) {
            throw unusable(e.getMessage(), e);
        }
    }

    private Path slot() {
        if (latest == null) {
            throw new IllegalStateException("no checkpoint read");
        }
        return dir.resolve(latest.slot);
    }

    private IOException unusable(String why, Exception cause) {
        return new IOException(
                "cannot resume "
                        + method
                        + " from its checkpoint in "
                        + dir
                        + ": "
                        + why
                        + "; delete that folder, or pass --fresh",
                cause);
    }

    /**
     * Deletes the checkpoint folder, if any, and the folder of checkpoints if it is left empty.
     *
     * @throws IOException if it cannot be deleted
     */
    void delete() throws IOException {
        deleteTree(dir);
        latest = null;
        try {
            Files.deleteIfExists(dir.getParent());
        } catch (DirectoryNotEmptyException e) {
            // another method's checkpoint
        }
    }

    /**
     * Deletes a folder and everything in it, if it exists.
     *
     * @param root the folder
     * @throws IOException if it cannot be deleted
     */
    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }

    /** A run's position and history at a checkpoint, as Gson writes it. */
    static final class Progress {
        /** The method's name. */
        String method;

        /** The slot ({@code a} or {@code b}) that holds the training state. */
        String slot;

        /** Training steps done. */
        long step;

        /** The epoch of the last step done, from 1. */
        int epoch;

        /** Steps done in that epoch. */
        int epochStep;

        /** Nanoseconds of every step done, in order. */
        List<Double> stepNanos = new ArrayList<>();

        /** Nanoseconds of the steps of the epoch in this run's processes. */
        long epochNanos;

        /** The log's loss curve and epoch. */
        TrainingLog.State log;
    }
}
