package io.github.lbpdjl.engine;

/**
 * MXNet: input residual with the bias added as a separate term; a bias fused into a
 * FullyConnected call whose data and weight are detached gets a zero gradient on MXNet 1.9.
 */
public final class MxLbpAdapter extends SurrogateLbpAdapter {

    /** Creates the MXNet adapter. */
    public MxLbpAdapter() {
        super("MXNet", true, false);
    }
}
