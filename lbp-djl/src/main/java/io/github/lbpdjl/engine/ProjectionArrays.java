package io.github.lbpdjl.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.wht.PatchProjection;

/**
 * The matrices of a {@link PatchProjection} as NDArrays of one manager, data type and device: Q (M
 * x N), Qs^T (N x M) and, where it differs from Q, the cropping Q (M x N). A layer keeps them
 * between forward passes ({@link ProjectionCache}); not thread-safe (the ones column of {@link
 * #getSpreadTWithOnes()} is made on first use).
 */
public final class ProjectionArrays {

    private final PatchProjection projection;
    private final NDArray gather;
    private final NDArray spreadT;
    private final NDArray scatter;
    private NDArray spreadTWithOnes;

    private ProjectionArrays(PatchProjection p, NDArray gather, NDArray spreadT, NDArray scatter) {
        this.projection = p;
        this.gather = gather;
        this.spreadT = spreadT;
        this.scatter = scatter;
    }

    /**
     * Creates the arrays in a manager.
     *
     * @param p the projection
     * @param manager the manager that owns the new arrays (its device is used)
     * @param dataType the data type of the layer input
     * @return the arrays
     */
    public static ProjectionArrays create(PatchProjection p, NDManager manager, DataType dataType) {
        int m = p.getRows();
        int n = p.getTokens();
        NDArray gather = owned(manager, p.gather(), new Shape(m, n), dataType);
        float[] spread = p.spread();
        float[] spreadT = new float[spread.length];
        for (int r = 0; r < m; r++) {
            for (int c = 0; c < n; c++) {
                spreadT[c * m + r] = spread[r * n + c];
            }
        }
        NDArray st = owned(manager, spreadT, new Shape(n, m), dataType);
        NDArray scatter =
                p.isGatherScatterEqual()
                        ? gather
                        : owned(manager, p.scatter(), new Shape(m, n), dataType);
        return new ProjectionArrays(p, gather, st, scatter);
    }

    /**
     * Creates an array whose memory the engine owns. PyTorch arrays made from Java data wrap a
     * direct buffer that lives only as long as the Java array is open; autograd keeps Q and Qs^T
     * for the backward pass, and the layer releases its forward intermediates early, so the data
     * must be copied into engine memory (else backward reads freed memory).
     */
    private static NDArray owned(NDManager manager, float[] data, Shape shape, DataType dataType) {
        try (NDArray wrapped = manager.create(data, shape)) {
            // duplicate() allocates engine memory and copies; toType(same type, copy) may alias
            NDArray copy = wrapped.duplicate();
            return dataType == copy.getDataType() ? copy : copy.toType(dataType, false);
        }
    }

    /**
     * @return the projection these arrays hold
     */
    public PatchProjection getProjection() {
        return projection;
    }

    /**
     * @return Q, (M, N): coefficients of x
     */
    public NDArray getGather() {
        return gather;
    }

    /**
     * @return Qs^T, (N, M): spreads coefficients back to tokens, divided by p * p
     */
    public NDArray getSpreadT() {
        return spreadT;
    }

    /**
     * Returns [Qs^T | 1], (N, M + 1): Qs^T with a column of ones that adds a broadcast row (the
     * bias) to every token. Created on first use.
     *
     * @return the array
     */
    public NDArray getSpreadTWithOnes() {
        if (spreadTWithOnes == null) {
            long n = spreadT.getShape().get(0);
            NDArray ones = spreadT.getManager().ones(new Shape(n, 1), spreadT.getDataType());
            spreadTWithOnes = spreadT.concat(ones, 1);
            Intermediates.release(ones);
        }
        return spreadTWithOnes;
    }

    /**
     * @return the cropping Q, (M, N); the same array as {@link #getGather()} for ZERO padding
     */
    public NDArray getScatter() {
        return scatter;
    }

    /**
     * @return whether Q and the cropping Q are the same
     */
    public boolean isSymmetric() {
        return gather == scatter;
    }
}
