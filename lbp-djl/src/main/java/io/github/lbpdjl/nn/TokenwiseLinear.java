package io.github.lbpdjl.nn;

/**
 * Moved to {@link io.github.lbpdjl.engine.TokenwiseLinear}.
 *
 * @deprecated use {@link io.github.lbpdjl.engine.TokenwiseLinear}; this interface goes in the next
 *     release
 */
@Deprecated
public interface TokenwiseLinear extends io.github.lbpdjl.engine.TokenwiseLinear {}
