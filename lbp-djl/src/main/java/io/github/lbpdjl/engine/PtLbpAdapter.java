package io.github.lbpdjl.engine;

/**
 * PyTorch: input residual with the bias fused into the frozen linear call (measured fastest;
 * gradients exact).
 */
public final class PtLbpAdapter extends SurrogateLbpAdapter {

    /** Creates the PyTorch adapter. */
    public PtLbpAdapter() {
        super("PyTorch", true, true);
    }
}
