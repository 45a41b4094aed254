package io.github.lbpdjl.zoo;

import java.util.Collections;
import java.util.List;

/** What loading a checkpoint into a zoo model did. */
public class ImportResult {

    private final int loaded;
    private final List<String> reinitialised;
    private final List<String> ignored;
    private final List<String> resampled;

    ImportResult(int loaded, List<String> reinitialised, List<String> ignored) {
        this(loaded, reinitialised, ignored, List.of());
    }

    ImportResult(
            int loaded, List<String> reinitialised, List<String> ignored, List<String> resampled) {
        this.loaded = loaded;
        this.reinitialised = Collections.unmodifiableList(reinitialised);
        this.ignored = Collections.unmodifiableList(ignored);
        this.resampled = Collections.unmodifiableList(resampled);
    }

    /**
     * @return the model parameters loaded after resampling (a ViT's {@code pos_embed} for another
     *     image size)
     */
    public List<String> getResampled() {
        return resampled;
    }

    /**
     * @return how many model parameters were set from the checkpoint
     */
    public int getLoaded() {
        return loaded;
    }

    /**
     * @return the model parameters kept freshly initialised (a head of another size)
     */
    public List<String> getReinitialised() {
        return reinitialised;
    }

    /**
     * @return the checkpoint tensors not loaded because the model has no such parameter by design
     *     (e.g. a Hugging Face pooler, BatchNorm's {@code num_batches_tracked})
     */
    public List<String> getIgnored() {
        return ignored;
    }
}
