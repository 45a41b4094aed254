package io.github.lbpdjl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.lbpdjl.engine.ProjectionArrays;
import io.github.lbpdjl.wht.PatchProjection;

/**
 * One layer's {@link ProjectionArrays}, kept in engine memory from one training forward pass to the
 * next instead of being copied from the Java tables every time. They are made again when the
 * projection, the input's data type, device or engine changes, or when the manager they live in has
 * been closed. They live in a sub-manager of a long-lived manager the layer gives (its weight's, so
 * they close with the model); autograd holds its own references, so replacing them never frees what
 * a pending backward still reads. It holds one set: a batch split over several devices remakes them
 * at each switch, as every pass did before. Not thread-safe: one per layer, used by the training
 * thread.
 */
final class ProjectionCache implements AutoCloseable {

    private NDManager manager;
    private ProjectionArrays arrays;

    /**
     * Returns the arrays of a projection for an input, made once and then reused while they fit.
     *
     * @param projection the projection
     * @param input the layer input: its data type, device and engine
     * @param owner a long-lived manager of the input's engine (e.g. the layer weight's) to keep
     *     them in
     * @return the arrays; do not close them
     */
    public ProjectionArrays get(PatchProjection projection, NDArray input, NDManager owner) {
        if (arrays != null
                && manager.isOpen() // before reading the arrays: closed with the model's manager
                && arrays.getProjection() == projection
                && arrays.getDataType() == input.getDataType()
                && manager.getDevice().equals(input.getDevice())
                && manager.getEngine() == input.getManager().getEngine()) {
            return arrays;
        }
        close();
        NDManager m = owner.newSubManager(input.getDevice());
        try {
            arrays = ProjectionArrays.create(projection, m, input.getDataType());
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        manager = m;
        return arrays;
    }

    /**
     * Frees the cached arrays (autograd keeps what a pending backward needs); the next get makes
     * them again.
     */
    @Override
    public void close() {
        if (manager != null) {
            manager.close();
        }
        manager = null;
        arrays = null;
    }
}
