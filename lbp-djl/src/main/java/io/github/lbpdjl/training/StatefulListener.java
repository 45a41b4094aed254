package io.github.lbpdjl.training;

import ai.djl.training.listener.TrainingListener;

/**
 * A training listener whose position in training (steps, schedules, choices made on the way) can be
 * saved with a checkpoint and restored to resume, as JSON text.
 */
public interface StatefulListener extends TrainingListener {

    /**
     * Returns the listener's state.
     *
     * @return JSON text that {@link #restoreState(String)} takes back
     */
    String getState();

    /**
     * Restores a state from {@link #getState()}. Call it after the trainer is created and before
     * the first batch.
     *
     * @param json the state
     * @throws IllegalArgumentException if it is not such a state or does not fit the model
     */
    void restoreState(String json);
}
