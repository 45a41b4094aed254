package io.github.lbpdjl.zoo;

import java.util.Collections;
import java.util.List;

/** What loading a checkpoint into a zoo model did. */
public class ImportResult {

    private final int loaded;
    private final List<String> reinitialised;
    private final List<String> ignored;

    ImportResult(int loaded, List<String> reinitialised, List<String> ignored) {
        this.loaded = loaded;
        this.reinitialised = Collections.unmodifiableList(reinitialised);
        this.ignored = Collections.unmodifiableList(ignored);
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
