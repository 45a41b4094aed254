/**
 * LBP-WHT (low-rank back-propagation via Walsh-Hadamard transform) for DJL. {@link
 * io.github.lbpdjl.LbpConfig} is the one configuration of the method (patch size, basis selection,
 * padding, token layout); the packages below hold, each, one concept: {@code wht} the maths, {@code
 * engine} the per-engine formulation, {@code nn} the adapted layers, {@code rewrite} and {@code
 * peft} the tuners, {@code training} the listeners, {@code checkpoint} resuming. See
 * docs/ARCHITECTURE.md.
 */
package io.github.lbpdjl;
