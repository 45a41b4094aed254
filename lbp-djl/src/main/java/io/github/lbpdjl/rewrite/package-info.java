/**
 * Tuners: choosing layers of a DJL model by name pattern ({@link
 * io.github.lbpdjl.rewrite.TargetModules}), the one injection every tuner uses ({@link
 * io.github.lbpdjl.rewrite.AdapterInjector}: targets, exclusions, unmatched patterns, skipping
 * adapted layers, replace, undo) and the LBP-WHT tuner, {@link
 * io.github.lbpdjl.rewrite.LbpRewriter}. Depends on {@code nn} and {@code modules}.
 */
package io.github.lbpdjl.rewrite;
