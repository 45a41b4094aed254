package io.github.lbpdjl.training;

import ai.djl.Model;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListenerAdapter;
import io.github.lbpdjl.rewrite.LbpRewriter;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a {@link FineTuning} when training begins, after {@code newTrainer} (which unfreezes a
 * loaded PyTorch model), and optionally restores plain Linear and Conv2d layers in place of the
 * LbpLinear and LbpConv2d layers when training ends. Add it before the other LBP-WHT listeners:
 * they find the layers it makes.
 */
public final class FineTuningListener extends TrainingListenerAdapter {

    private static final Logger logger = LoggerFactory.getLogger(FineTuningListener.class);

    private final FineTuning fineTuning;
    private final boolean undoAtEnd;

    /**
     * Creates the listener.
     *
     * @param fineTuning the preparation applied at the start of training
     * @param undoAtEnd whether to restore plain Linear and Conv2d layers when training ends
     */
    public FineTuningListener(FineTuning fineTuning, boolean undoAtEnd) {
        this.fineTuning = Objects.requireNonNull(fineTuning, "fineTuning");
        this.undoAtEnd = undoAtEnd;
    }

    /** {@inheritDoc} */
    @Override
    public void onTrainingBegin(Trainer trainer) {
        Model model = trainer.getModel();
        fineTuning.apply(model);
        if (LbpLayers.of(model).isEmpty()) {
            logger.warn("LBP-WHT: the model has no LBP-WHT layer; nothing to schedule or report");
        }
    }

    /** {@inheritDoc} */
    @Override
    public void onTrainingEnd(Trainer trainer) {
        if (undoAtEnd) {
            List<String> restored = LbpRewriter.undo(trainer.getModel());
            logger.info("LBP-WHT: restored {} plain layers", restored.size());
        }
    }

    /**
     * Returns the preparation.
     *
     * @return the preparation
     */
    public FineTuning getFineTuning() {
        return fineTuning;
    }
}
