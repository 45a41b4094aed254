/**
 * DJL training listeners for LBP-WHT, one per concern: {@link
 * io.github.lbpdjl.training.FineTuningListener} (prepare the model with a {@link
 * io.github.lbpdjl.training.FineTuning} after newTrainer: tuners and freezing), {@link
 * io.github.lbpdjl.training.LbpScheduleListener} (warm-up, selection by epoch), {@link
 * io.github.lbpdjl.training.GradientEnergyListener} (energy kept, energy-adaptive selection),
 * {@link io.github.lbpdjl.training.BackwardFlopsListener}, {@link
 * io.github.lbpdjl.training.NonFiniteCheckListener}; {@link
 * io.github.lbpdjl.training.LbpTrainingListener} runs the usual set behind one builder. Listeners
 * with a position in training implement {@link io.github.lbpdjl.training.StatefulListener} for
 * checkpoints. Depends on the tuners ({@code rewrite}, {@code peft}) and {@code nn}.
 */
package io.github.lbpdjl.training;
