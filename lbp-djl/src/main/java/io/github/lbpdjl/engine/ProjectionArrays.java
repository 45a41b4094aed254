package io.github.lbpdjl.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.wht.PatchProjection;

/**
 * The arrays of a {@link PatchProjection} in one manager, data type and device. The factored form
 * that training uses is made at once: the basis matrix (k x p^2), its spreading transpose divided
 * by p^2 (with a column of ones for the bias) and, for a folded (REFLECT, padded) projection, the
 * index of the reflect-padded grid and of its transpose. The dense matrices Q (M x N), Qs^T (N x M)
 * and the cropping Q are made on first use only (the dense form of small projections, {@link
 * ProjectionForms}); gradient probes get copies of Q that are not kept ({@link #newGather}). A
 * layer keeps the arrays between forward passes (its projection cache); not thread-safe (the lazily
 * made arrays).
 */
public final class ProjectionArrays {

    private final PatchProjection projection;
    private final NDManager manager;
    private final DataType dataType;
    private final NDArray basis;
    private final NDArray spreadBasis;
    private final NDArray spreadBasisWithOnes;
    private final NDArray foldedIndex;
    private final NDArray[] foldSources;
    private NDArray gather;
    private NDArray spreadT;
    private NDArray spreadTWithOnes;
    private NDArray scatter;

    private ProjectionArrays(PatchProjection p, NDManager manager, DataType dataType) {
        this.projection = p;
        this.manager = manager;
        this.dataType = dataType;
        int k = p.getBases();
        int pp = p.getPatchSize() * p.getPatchSize();
        float[] b = p.basis();
        float[] st = new float[pp * (k + 1)];
        float inv = 1f / pp;
        for (int s = 0; s < pp; s++) {
            for (int r = 0; r < k; r++) {
                st[s * (k + 1) + r] = b[r * pp + s] * inv;
            }
            st[s * (k + 1) + k] = 1f;
        }
        this.basis = owned(manager, b, new Shape(k, pp), dataType);
        this.spreadBasisWithOnes = owned(manager, st, new Shape(pp, k + 1), dataType);
        NDArray view = spreadBasisWithOnes.get(":, :{}", k);
        this.spreadBasis = view.duplicate(); // contiguous, in engine memory
        Intermediates.release(view);
        if (p.isFolded()) {
            // position-major: patch-order position patch * p^2 + s becomes s * P + patch
            int patches = p.getPatches();
            int[] tokens = p.foldedTokens();
            int[] byPosition = new int[tokens.length];
            for (int q = 0; q < tokens.length; q++) {
                byPosition[(q % pp) * patches + q / pp] = tokens[q];
            }
            this.foldedIndex = index(manager, byPosition, -1);
            int[][] sources = p.foldSources();
            this.foldSources = new NDArray[sources.length];
            for (int j = 0; j < sources.length; j++) {
                int[] positions = new int[sources[j].length];
                for (int t = 0; t < positions.length; t++) {
                    int q = sources[j][t];
                    positions[t] = q < 0 ? -1 : (q % pp) * patches + q / pp;
                }
                foldSources[j] = index(manager, positions, (long) patches * pp);
            }
        } else {
            this.foldedIndex = null;
            this.foldSources = null;
        }
    }

    /** An int64 index array in engine memory, -1 entries replaced by {@code missing}. */
    private static NDArray index(NDManager manager, int[] values, long missing) {
        long[] index = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            index[i] = values[i] < 0 ? missing : values[i];
        }
        try (NDArray wrapped = manager.create(index)) {
            return wrapped.duplicate();
        }
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
        return new ProjectionArrays(p, manager, dataType);
    }

    /**
     * Creates an array whose memory the engine owns. PyTorch arrays made from Java data wrap a
     * direct buffer that lives only as long as the Java array is open; autograd keeps the
     * projection arrays for the backward pass, and the layer releases its forward intermediates
     * early, so the data must be copied into engine memory (else backward reads freed memory).
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
     * @return the data type of the arrays
     */
    public DataType getDataType() {
        return dataType;
    }

    /**
     * @return the k selected bases of a patch, (k, p^2), entries +1 or -1
     */
    public NDArray getBasis() {
        return basis;
    }

    /**
     * @return the transposed bases divided by p^2, (p^2, k): spreads a patch's k coefficients back
     *     to its positions
     */
    public NDArray getSpreadBasis() {
        return spreadBasis;
    }

    /**
     * @return {@link #getSpreadBasis()} with a column of ones, (p^2, k + 1): also adds a row (the
     *     bias) to every position
     */
    public NDArray getSpreadBasisWithOnes() {
        return spreadBasisWithOnes;
    }

    /**
     * @return the token at every position of the reflect-padded grid, position-major ({@code s * P
     *     + patch} for position s of a patch), (p^2 P), int64; null unless the projection is folded
     */
    public NDArray getFoldedIndex() {
        return foldedIndex;
    }

    /**
     * Returns, for a folded projection, the patch-order positions that fold onto every grid token
     * ({@link PatchProjection#foldSources()}) as position-major indices {@code s * P + patch},
     * int64 (H W) each, a missing one pointing one past the last position (a zero row appended
     * there).
     *
     * @return the index arrays (do not modify); null unless the projection is folded
     */
    public NDArray[] getFoldSources() {
        return foldSources;
    }

    /**
     * Returns a new copy of Q (M, N) in a manager, without keeping it here: for gradient probes,
     * which outlive the pass, so that a per-patch layer never holds the dense matrices.
     *
     * @param target the manager of the copy
     * @return Q, owned by {@code target}
     */
    public NDArray newGather(NDManager target) {
        if (gather != null) {
            NDArray copy = gather.duplicate();
            copy.attach(target);
            return copy;
        }
        return owned(
                target,
                projection.gather(),
                new Shape(projection.getRows(), projection.getTokens()),
                dataType);
    }

    /**
     * Returns Q, (M, N): coefficients of x, with reflect padding folded. Made on first use.
     *
     * @return Q
     */
    public NDArray getGather() {
        if (gather == null) {
            gather = dense(projection.gather(), false);
        }
        return gather;
    }

    /**
     * Returns Qs^T, (N, M): spreads coefficients back to tokens, divided by p * p. Made on first
     * use.
     *
     * @return Qs^T
     */
    public NDArray getSpreadT() {
        if (spreadT == null) {
            spreadT = dense(projection.spread(), true);
        }
        return spreadT;
    }

    /**
     * Returns [Qs^T | 1], (N, M + 1): Qs^T with a column of ones that adds a broadcast row (the
     * bias) to every token. Made on first use.
     *
     * @return the array
     */
    public NDArray getSpreadTWithOnes() {
        if (spreadTWithOnes == null) {
            NDArray st = getSpreadT();
            long n = st.getShape().get(0);
            NDArray ones = manager.ones(new Shape(n, 1), dataType);
            spreadTWithOnes = st.concat(ones, 1);
            Intermediates.release(ones);
        }
        return spreadTWithOnes;
    }

    /**
     * Returns the cropping Q, (M, N); the same array as {@link #getGather()} unless the projection
     * is folded. Made on first use.
     *
     * @return the cropping Q
     */
    public NDArray getScatter() {
        if (!projection.isFolded()) {
            return getGather();
        }
        if (scatter == null) {
            scatter = dense(projection.scatter(), false);
        }
        return scatter;
    }

    /**
     * @return whether Q and the cropping Q are the same, i.e. the projection is not folded
     */
    public boolean isSymmetric() {
        return !projection.isFolded();
    }

    private NDArray dense(float[] rowMajor, boolean transpose) {
        int m = projection.getRows();
        int n = projection.getTokens();
        float[] data = rowMajor;
        if (transpose) {
            data = new float[rowMajor.length];
            for (int r = 0; r < m; r++) {
                for (int c = 0; c < n; c++) {
                    data[c * m + r] = rowMajor[r * n + c];
                }
            }
        }
        return owned(manager, data, transpose ? new Shape(n, m) : new Shape(m, n), dataType);
    }
}
