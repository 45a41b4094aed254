/**
 * The adapted layers: {@link io.github.lbpdjl.nn.AdaptedLinear}, the base of every Linear taken
 * over by a fine-tuning method (parameters, name, LBP-WHT switch and configuration, projection
 * cache, the LBP-WHT training forward, gradient probes), and {@link io.github.lbpdjl.nn.LbpLinear},
 * a drop-in for DJL's Linear; {@link io.github.lbpdjl.nn.BackwardFlops} counts their backward cost.
 * Depends on {@code wht}, {@code engine} and {@code ndarray}.
 */
package io.github.lbpdjl.nn;
