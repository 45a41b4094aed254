/**
 * What differs between DJL engines for LBP-WHT, behind one small service-provider interface: {@link
 * io.github.lbpdjl.engine.LbpEngineAdapter} (the formulation of the LBP forward that is fast and
 * correct on an engine, gradient accumulation, freezing), found with {@link
 * java.util.ServiceLoader} through {@link io.github.lbpdjl.engine.LbpEngines}; implementations for
 * PyTorch and MXNet. Depends on {@code wht} and {@code ndarray}.
 */
package io.github.lbpdjl.engine;
