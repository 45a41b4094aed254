package io.github.lbpdjl.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

/**
 * MXNet: the correction term is a separate addition. MXNet's FullyConnected takes only a 1-D bias,
 * and a bias fused into a FullyConnected call whose data and weight are detached was measured to
 * get a zero gradient on MXNet 1.9, so the bias travels with the correction term.
 *
 * <p>Additions and subtractions use MXNet's {@code elemwise_add} / {@code elemwise_sub}, whose
 * backward keeps nothing: DJL's {@code add} / {@code sub} are the broadcasting {@code _npi_add} /
 * {@code _npi_subtract}, whose backward keeps both operands, which made autograd keep two
 * output-sized arrays per layer (the frozen output and the correction) until backward.
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

    /** {@inheritDoc} */
    @Override
    protected NDArray plus(NDArray a, NDArray b) {
        return a.getManager().invoke("elemwise_add", new NDList(a, b), null).singletonOrThrow();
    }

    /** {@inheritDoc} */
    @Override
    protected NDArray minus(NDArray a, NDArray b) {
        return a.getManager().invoke("elemwise_sub", new NDList(a, b), null).singletonOrThrow();
    }
}
