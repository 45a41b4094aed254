/**
 * Resuming training: {@link io.github.lbpdjl.checkpoint.ResumableAdamW} (AdamW whose moments can be
 * saved) and {@link io.github.lbpdjl.checkpoint.TrainingCheckpoint} (weights, optimizer and a
 * {@link io.github.lbpdjl.training.StatefulListener}'s state in one atomic folder). Depends on
 * {@code training}, {@code engine} and {@code io}.
 */
package io.github.lbpdjl.checkpoint;
