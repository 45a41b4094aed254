package io.github.lbpdjl.wht;

/**
 * The p-point Walsh matrix in sequency order: row k has exactly k sign changes.
 *
 * <p>Built from the Sylvester-Hadamard matrix by sorting its rows by their number of sign changes.
 * Entries are +1 or -1 and are not normalised.
 */
public final class WalshMatrix {

    /**
     * The largest patch side accepted (a 256 x 256 patch already spans more tokens than any ViT
     * grid); larger values would only make the O(p^2) tables exhaust memory or time.
     */
    public static final int MAX_SIZE = 256;

    private WalshMatrix() {}

    /**
     * Returns the p x p Walsh matrix in sequency order.
     *
     * @param p the size, a power of two (1, 2, 4, 8, ..., {@link #MAX_SIZE})
     * @return a new matrix, {@code w[k][i]} is entry i of the k-th Walsh function
     * @throws IllegalArgumentException if p is not a positive power of two up to {@link #MAX_SIZE}
     */
    public static int[][] sequency(int p) {
        requirePowerOfTwo(p, "patch size");
        int[][] result = new int[p][];
        for (int natural = 0; natural < p; natural++) {
            int[] row = new int[p];
            for (int i = 0; i < p; i++) {
                row[i] = Integer.bitCount(natural & i) % 2 == 0 ? 1 : -1;
            }
            int changes = 0;
            for (int i = 1; i < p; i++) {
                if (row[i] != row[i - 1]) {
                    changes++;
                }
            }
            result[changes] = row;
        }
        return result;
    }

    /**
     * Checks that a value is a positive power of two.
     *
     * @param value the value to check
     * @param what what the value is, for the error message
     * @throws IllegalArgumentException if it is not
     */
    static void requirePowerOfTwo(int value, String what) {
        if (value < 1 || Integer.bitCount(value) != 1 || value > MAX_SIZE) {
            throw new IllegalArgumentException(
                    what
                            + " must be a positive power of two (1, 2, 4, 8, ..., "
                            + MAX_SIZE
                            + "), got "
                            + value);
        }
    }
}
