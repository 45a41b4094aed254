package io.github.lbpdjl.engine;

/**
 * MXNet: the correction term is a separate addition. MXNet's FullyConnected takes only a 1-D
 * bias, and a bias fused into a FullyConnected call whose data and weight are detached was
 * measured to get a zero gradient on MXNet 1.9, so the bias travels with the correction term.
 */
public final class MxLbpAdapter extends SurrogateLbpAdapter {

    /** Creates the MXNet adapter. */
    public MxLbpAdapter() {
        super("MXNet", false);
    }

    /** {@inheritDoc} */
    @Override
    public boolean accumulatesGradients() {
        return false;
    }
}
