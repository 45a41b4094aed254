package io.github.lbpdjl.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.lbpdjl.engine.ProjectionArrays;
import io.github.lbpdjl.wht.PatchProjection;
import java.util.HashMap;
import java.util.Map;

/**
 * One layer's {@link ProjectionArrays}, one set per device, kept in engine memory from one training
 * forward pass to the next instead of being copied from the Java tables every time. A device's set
 * is made again when the projection, the input's data type or engine changes, or when the manager
 * it lives in has been closed. Each lives in a sub-manager of a long-lived manager the layer gives
 * (its weight's on that device, so they close with the model); autograd holds its own references,
 * so replacing them never frees what a pending backward still reads. A batch that DJL splits over
 * several devices finds each device's set in place. Thread-safe: DJL may run the devices' splits in
 * parallel.
 */
final class ProjectionCache implements AutoCloseable {

    private final Map<Device, Entry> entries = new HashMap<>();
    private int made;

    private record Entry(NDManager manager, ProjectionArrays arrays) {}

    /**
     * Returns the arrays of a projection for an input, made once per device and then reused while
     * they fit.
     *
     * @param projection the projection
     * @param input the layer input: its data type, device and engine
     * @param owner a long-lived manager of the input's engine on its device (e.g. the layer
     *     weight's) to keep them in
     * @return the arrays; do not close them
     */
    public ProjectionArrays get(PatchProjection projection, NDArray input, NDManager owner) {
        return get(projection, input, owner, input.getDevice());
    }

    /**
     * The same, keyed on a given device (the input's in use; a test keys on devices the machine
     * lacks, as DJL holds every CPU device equal to every other).
     */
    synchronized ProjectionArrays get(
            PatchProjection projection, NDArray input, NDManager owner, Device device) {
        Entry e = entries.get(device);
        if (e != null
                && e.manager.isOpen() // before reading the arrays: closed with the model's manager
                && e.arrays.getProjection() == projection
                && e.arrays.getDataType() == input.getDataType()
                && e.manager.getEngine() == input.getManager().getEngine()) {
            return e.arrays;
        }
        if (e != null) {
            entries.remove(device);
            e.manager.close();
        }
        NDManager m = owner.newSubManager(input.getDevice());
        ProjectionArrays arrays;
        try {
            arrays = ProjectionArrays.create(projection, m, input.getDataType());
        } catch (RuntimeException ex) {
            m.close();
            throw ex;
        }
        entries.put(device, new Entry(m, arrays));
        made++;
        return arrays;
    }

    /**
     * Returns how many sets were made so far (for tests: a set per device, not per pass).
     *
     * @return the count
     */
    synchronized int made() {
        return made;
    }

    /**
     * Frees the cached arrays of every device (autograd keeps what a pending backward needs); the
     * next get makes them again.
     */
    @Override
    public synchronized void close() {
        for (Entry e : entries.values()) {
            e.manager.close();
        }
        entries.clear();
    }
}
