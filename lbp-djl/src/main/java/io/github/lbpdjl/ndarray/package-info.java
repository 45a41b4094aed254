/**
 * NDArray helpers for model code on every engine: {@link io.github.lbpdjl.ndarray.Scalars} (scaling
 * that is safe under autograd on DJL's PyTorch engine) and {@link
 * io.github.lbpdjl.ndarray.Intermediates} (freeing a forward pass's intermediates as soon as they
 * are consumed, so that peak memory is what autograd keeps). Depends on DJL only.
 */
package io.github.lbpdjl.ndarray;
