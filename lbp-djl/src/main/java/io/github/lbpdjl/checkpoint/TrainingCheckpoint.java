package io.github.lbpdjl.checkpoint;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import io.github.lbpdjl.io.AtomicFiles;
import io.github.lbpdjl.training.StatefulListener;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A checkpoint of a training run, in one folder: the model's parameters ({@value #WEIGHTS}, DJL's
 * .params format), the optimizer's state ({@value #OPTIMIZER}) and the LBP-WHT listener's state
 * ({@value #LISTENER}). Resuming from it continues the run as if it had not stopped.
 *
 * <p>Saving is atomic for the folder as a whole ({@link AtomicFiles#writeFolder}): the files are
 * written and synced into a new folder beside it, which then replaces the old one by two renames; a
 * run killed or a save failing at any moment leaves the previous checkpoint readable (under {@code
 * NAME.old} in the instant between the two renames, where {@link #resolve} finds it and the next
 * save puts it back).
 *
 * <p>To resume: build the model as before, {@link #loadWeights} (before {@code newTrainer}, as
 * {@code Model.load}), create the trainer with the same listener configuration, then {@link
 * #loadState}.
 */
public final class TrainingCheckpoint {

    /** The parameters file. */
    public static final String WEIGHTS = "weights.params";

    /** The optimizer state file. */
    public static final String OPTIMIZER = "optimizer.ndlist";

    /** The listener state file. */
    public static final String LISTENER = "lbp-state.json";

    private TrainingCheckpoint() {}

    /**
     * Saves a checkpoint, replacing the one in {@code dir} only once the new one is complete.
     *
     * @param dir the checkpoint folder
     * @param model the model being trained
     * @param optimizer its optimizer
     * @param listener its LBP-WHT listener, or null
     * @throws IOException if writing fails; the previous checkpoint is then untouched
     */
    public static void save(
            Path dir, Model model, ResumableAdamW optimizer, StatefulListener listener)
            throws IOException {
        AtomicFiles.writeFolder(
                dir,
                folder -> {
                    write(
                            folder.resolve(WEIGHTS),
                            out -> model.getBlock().saveParameters(new DataOutputStream(out)));
                    write(
                            folder.resolve(OPTIMIZER),
                            out -> optimizer.saveState(model.getBlock(), out));
                    if (listener != null) {
                        write(
                                folder.resolve(LISTENER),
                                out ->
                                        out.write(
                                                listener.getState()
                                                        .getBytes(StandardCharsets.UTF_8)));
                    }
                });
    }

    /**
     * Loads the parameters into the model's block (built as when saved, not yet trained).
     *
     * @param dir the checkpoint folder
     * @param model the model
     * @throws IOException if the checkpoint cannot be read
     * @throws MalformedModelException if the parameters do not fit the block
     */
    public static void loadWeights(Path dir, Model model)
            throws IOException, MalformedModelException {
        Path file = resolve(dir).resolve(WEIGHTS);
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            model.getBlock().loadParameters(model.getNDManager(), new DataInputStream(in));
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new MalformedModelException(
                    file + ": parameters do not fit the model: " + e.getMessage(), e);
        }
    }

    /**
     * Loads the optimizer's and the listener's state. Call after the trainer is created.
     *
     * @param dir the checkpoint folder
     * @param model the model
     * @param optimizer the optimizer the trainer uses
     * @param listener the LBP-WHT listener the trainer uses, or null
     * @throws IOException if the checkpoint cannot be read
     */
    public static void loadState(
            Path dir, Model model, ResumableAdamW optimizer, StatefulListener listener)
            throws IOException {
        Path folder = resolve(dir);
        try (InputStream in =
                new BufferedInputStream(Files.newInputStream(folder.resolve(OPTIMIZER)))) {
            optimizer.loadState(model.getBlock(), model.getNDManager(), in);
        }
        if (listener != null) {
            Path state = folder.resolve(LISTENER);
            if (!Files.exists(state)) {
                throw new FileNotFoundException(
                        state + ": the checkpoint has no LBP-WHT listener state");
            }
            listener.restoreState(Files.readString(state, StandardCharsets.UTF_8));
        }
    }

    /**
     * Returns the folder that holds the latest complete checkpoint: {@code dir}, or {@code dir.old}
     * if a save was killed between its two renames.
     *
     * @param dir the checkpoint folder
     * @return the folder to read
     * @throws FileNotFoundException if there is no checkpoint
     */
    public static Path resolve(Path dir) throws FileNotFoundException {
        Path folder = AtomicFiles.resolveFolder(dir);
        if (folder == null || !Files.isRegularFile(folder.resolve(WEIGHTS))) {
            throw new FileNotFoundException(
                    "no training checkpoint in " + dir.toAbsolutePath() + " (no " + WEIGHTS + ")");
        }
        return folder;
    }

    private static void write(Path file, AtomicFiles.Content content) throws IOException {
        try (OutputStream out =
                new BufferedOutputStream(
                        Files.newOutputStream(file, StandardOpenOption.CREATE_NEW))) {
            content.writeTo(out);
        }
    }
}
