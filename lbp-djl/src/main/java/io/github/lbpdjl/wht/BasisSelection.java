package io.github.lbpdjl.wht;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Which 2-D Walsh-Hadamard bases (r, c) of a p x p patch the gradient is projected onto.
 *
 * <p>Basis (r, c) is the outer product of Walsh functions r and c in sequency order, so small r and
 * c are low frequencies. Immutable and thread-safe.
 */
public final class BasisSelection {

    /** The kinds of selection. */
    public enum Kind {
        /** r + c &lt; order (the paper's LP_L1). */
        LOW_PASS_L1,
        /** r &lt; order and c &lt; order (the paper's LP_Linf). */
        LOW_PASS_LINF,
        /** An explicit list of (r, c) pairs. */
        EXPLICIT,
        /** Every basis of the patch. */
        ALL
    }

    private final Kind kind;
    private final int order;
    private final int[][] explicit;

    private BasisSelection(Kind kind, int order, int[][] explicit) {
        this.kind = kind;
        this.order = order;
        this.explicit = explicit;
    }

    /**
     * Low-pass selection with an L1 (triangle) frequency cut: every (r, c) with r + c &lt; order.
     * For p = 8: order 1 keeps 1 basis, 2 keeps 3, 4 keeps 10, 6 keeps 21, 8 keeps 36, 15 all 64.
     *
     * @param order the cut, at least 1
     * @return the selection
     * @throws IllegalArgumentException if order &lt; 1
     */
    public static BasisSelection lowPassL1(int order) {
        requireOrder(order, "lowPassL1");
        return new BasisSelection(Kind.LOW_PASS_L1, order, null);
    }

    /**
     * Low-pass selection with an L-infinity (square) frequency cut: r &lt; order and c &lt; order.
     *
     * @param order the cut, at least 1
     * @return the selection
     * @throws IllegalArgumentException if order &lt; 1
     */
    public static BasisSelection lowPassLinf(int order) {
        requireOrder(order, "lowPassLinf");
        return new BasisSelection(Kind.LOW_PASS_LINF, order, null);
    }

    /**
     * An explicit list of bases, each given as {row, column}.
     *
     * @param rowCol the bases, e.g. {@code of(new int[] {0, 0}, new int[] {0, 1})}
     * @return the selection
     * @throws IllegalArgumentException if the list is empty, a pair is malformed, negative or
     *     repeated (bases outside a patch are rejected by {@link #bases(int)})
     */
    public static BasisSelection of(int[]... rowCol) {
        if (rowCol == null || rowCol.length == 0) {
            throw new IllegalArgumentException(
                    "an explicit basis selection needs at least one basis");
        }
        int[][] copy = new int[rowCol.length][];
        Set<List<Integer>> seen = new HashSet<>();
        for (int i = 0; i < rowCol.length; i++) {
            int[] rc = rowCol[i];
            if (rc == null || rc.length != 2) {
                throw new IllegalArgumentException(
                        "basis " + i + " must be a pair {row, column}, got " + Arrays.toString(rc));
            }
            if (rc[0] < 0 || rc[1] < 0) {
                throw new IllegalArgumentException(
                        "basis " + i + " has a negative index: " + Arrays.toString(rc));
            }
            if (!seen.add(List.of(rc[0], rc[1]))) {
                throw new IllegalArgumentException(
                        "basis " + Arrays.toString(rc) + " is listed twice");
            }
            copy[i] = rc.clone();
        }
        return new BasisSelection(Kind.EXPLICIT, 0, copy);
    }

    /**
     * Every basis of the patch (full rank).
     *
     * @return the selection
     */
    public static BasisSelection all() {
        return new BasisSelection(Kind.ALL, 0, null);
    }

    /**
     * Returns the selected bases for a patch size, as {row, column} pairs, low frequencies first.
     *
     * @param patchSize the patch side p, a power of two
     * @return a new array of k pairs
     * @throws IllegalArgumentException if p is not a power of two or an explicit basis lies outside
     *     the p x p patch
     */
    public int[][] bases(int patchSize) {
        WalshMatrix.requirePowerOfTwo(patchSize, "patch size");
        if (kind == Kind.EXPLICIT) {
            for (int[] rc : explicit) {
                if (rc[0] >= patchSize || rc[1] >= patchSize) {
                    throw new IllegalArgumentException(
                            "basis "
                                    + Arrays.toString(rc)
                                    + " lies outside the "
                                    + patchSize
                                    + "x"
                                    + patchSize
                                    + " patch (indices must be < "
                                    + patchSize
                                    + ")");
                }
            }
            int[][] copy = new int[explicit.length][];
            for (int i = 0; i < explicit.length; i++) {
                copy[i] = explicit[i].clone();
            }
            return copy;
        }
        List<int[]> list = new ArrayList<>();
        for (int sum = 0; sum <= 2 * (patchSize - 1); sum++) {
            for (int r = 0; r < patchSize; r++) {
                int c = sum - r;
                if (c >= 0 && c < patchSize && selects(r, c)) {
                    list.add(new int[] {r, c});
                }
            }
        }
        return list.toArray(new int[0][]);
    }

    /**
     * Returns the number of selected bases k for a patch size.
     *
     * @param patchSize the patch side p
     * @return k, between 1 and p * p
     */
    public int count(int patchSize) {
        return bases(patchSize).length;
    }

    private boolean selects(int r, int c) {
        switch (kind) {
            case LOW_PASS_L1:
                return r + c < order;
            case LOW_PASS_LINF:
                return r < order && c < order;
            default:
                return true;
        }
    }

    /**
     * @return the kind of selection
     */
    public Kind getKind() {
        return kind;
    }

    /**
     * @return the order of a low-pass selection, 0 for other kinds
     */
    public int getOrder() {
        return order;
    }

    /**
     * @return a copy of the explicit pairs, or null for other kinds
     */
    public int[][] getExplicit() {
        if (explicit == null) {
            return null;
        }
        int[][] copy = new int[explicit.length][];
        for (int i = 0; i < explicit.length; i++) {
            copy[i] = explicit[i].clone();
        }
        return copy;
    }

    private static void requireOrder(int order, String what) {
        if (order < 1) {
            throw new IllegalArgumentException(what + " order must be >= 1, got " + order);
        }
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof BasisSelection)) {
            return false;
        }
        BasisSelection b = (BasisSelection) o;
        return kind == b.kind && order == b.order && Arrays.deepEquals(explicit, b.explicit);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, order, Arrays.deepHashCode(explicit));
    }

    /** Returns the paper's name: LP_L1-o, LP_Linf-o, ALL, or the explicit list. */
    @Override
    public String toString() {
        switch (kind) {
            case LOW_PASS_L1:
                return "LP_L1-" + order;
            case LOW_PASS_LINF:
                return "LP_Linf-" + order;
            case ALL:
                return "ALL";
            default:
                return "EXPLICIT" + Arrays.deepToString(explicit);
        }
    }
}
