package io.github.lbpdjl.wht;

import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The LBP-WHT projection of one token layout as dense matrices over the token axis.
 *
 * <p>Padding, patching and the extra tokens are folded into matrices with {@code M = E + k * P}
 * rows (E extra tokens, k bases, P patches) and N columns (tokens):
 *
 * <ul>
 *   <li>{@link #gather()} Q: row e selects extra token e; row (patch, basis) holds the basis over
 *       the padded patch, so {@code Q x} gives the coefficients x_k = &lt;x_patch, B_k&gt;. With
 *       reflect padding the padded positions fold onto the tokens they mirror.
 *   <li>{@link #spread()} Qs: Q with its patch rows divided by p * p, so {@code Qs gy} gives gy_k
 *       and {@code Qs^T Q} is the projector P.
 *   <li>{@link #scatter()} the zero-padded Q that spreads coefficients back and crops the padding;
 *       it equals Q unless the padding is REFLECT and the grid is padded.
 * </ul>
 *
 * <p>Instances are immutable and cached, so they may be shared between threads.
 */
public final class PatchProjection {

    private static final Map<Key, PatchProjection> CACHE = new ConcurrentHashMap<>();

    private final int rows;
    private final int tokens;
    private final int patches;
    private final int bases;
    private final float[] gather;
    private final float[] spread;
    private final float[] scatter;

    private PatchProjection(TokenLayout layout, int p, int[][] basisList, Padding padding) {
        int extra = layout.getExtraTokens();
        int h = layout.getHeight();
        int w = layout.getWidth();
        int hp = ceilTo(h, p);
        int wp = ceilTo(w, p);
        int top = (hp - h + 1) / 2;
        int left = (wp - w + 1) / 2;
        int patchRows = hp / p;
        int patchCols = wp / p;
        this.patches = patchRows * patchCols;
        this.bases = basisList.length;
        this.tokens = layout.getTokenCount();
        this.rows = extra + bases * patches;
        this.gather = new float[rows * tokens];
        this.scatter = new float[rows * tokens];
        int[][] walsh = WalshMatrix.sequency(p);
        for (int e = 0; e < extra; e++) {
            gather[e * tokens + e] = 1f;
            scatter[e * tokens + e] = 1f;
        }
        for (int pr = 0; pr < patchRows; pr++) {
            for (int pc = 0; pc < patchCols; pc++) {
                int patch = pr * patchCols + pc;
                for (int b = 0; b < bases; b++) {
                    int[] wr = walsh[basisList[b][0]];
                    int[] wc = walsh[basisList[b][1]];
                    int row = extra + patch * bases + b;
                    for (int i = 0; i < p; i++) {
                        int gi = pr * p + i - top;
                        for (int j = 0; j < p; j++) {
                            int gj = pc * p + j - left;
                            float value = wr[i] * wc[j];
                            boolean inside = gi >= 0 && gi < h && gj >= 0 && gj < w;
                            if (inside) {
                                int col = extra + gi * w + gj;
                                scatter[row * tokens + col] += value;
                                gather[row * tokens + col] += value;
                            } else if (padding == Padding.REFLECT) {
                                int col = extra + reflect(gi, h) * w + reflect(gj, w);
                                gather[row * tokens + col] += value;
                            }
                        }
                    }
                }
            }
        }
        this.spread = gather.clone();
        float inv = 1f / (p * p);
        for (int i = extra * tokens; i < spread.length; i++) {
            spread[i] *= inv;
        }
    }

    /**
     * Returns the projection for a layout, patch size, selection and padding (cached).
     *
     * @param layout the token layout
     * @param patchSize the patch side p, a power of two
     * @param selection the bases
     * @param padding the padding of grids that are not multiples of p
     * @return the projection
     */
    public static PatchProjection of(
            TokenLayout layout, int patchSize, BasisSelection selection, Padding padding) {
        Key key = new Key(layout, patchSize, selection, padding);
        return CACHE.computeIfAbsent(
                key,
                k -> new PatchProjection(layout, patchSize, selection.bases(patchSize), padding));
    }

    /** Mirror index without repeating the edge, periodic for pads larger than the side. */
    static int reflect(int i, int n) {
        if (n == 1) {
            return 0;
        }
        int period = 2 * (n - 1);
        int m = Math.floorMod(i, period);
        return m < n ? m : period - m;
    }

    private static int ceilTo(int v, int p) {
        return (v + p - 1) / p * p;
    }

    /**
     * @return M = E + k * P, the number of projected rows
     */
    public int getRows() {
        return rows;
    }

    /**
     * @return N, the number of tokens
     */
    public int getTokens() {
        return tokens;
    }

    /**
     * @return P, the number of patches of the padded grid
     */
    public int getPatches() {
        return patches;
    }

    /**
     * @return k, the number of bases
     */
    public int getBases() {
        return bases;
    }

    /**
     * @return Q, row-major M x N (a copy)
     */
    public float[] gather() {
        return gather.clone();
    }

    /**
     * @return Qs, row-major M x N (a copy)
     */
    public float[] spread() {
        return spread.clone();
    }

    /**
     * @return the zero-padded Q, row-major M x N (a copy)
     */
    public float[] scatter() {
        return scatter.clone();
    }

    /**
     * @return whether {@link #scatter()} equals {@link #gather()}
     */
    public boolean isGatherScatterEqual() {
        return Arrays.equals(gather, scatter);
    }

    private static final class Key {
        final TokenLayout layout;
        final int patchSize;
        final BasisSelection selection;
        final Padding padding;

        Key(TokenLayout layout, int patchSize, BasisSelection selection, Padding padding) {
            this.layout = layout;
            this.patchSize = patchSize;
            this.selection = selection;
            this.padding = padding;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Key)) {
                return false;
            }
            Key k = (Key) o;
            return layout.equals(k.layout)
                    && patchSize == k.patchSize
                    && selection.equals(k.selection)
                    && padding == k.padding;
        }

        @Override
        public int hashCode() {
            return Objects.hash(layout, patchSize, selection, padding);
        }
    }
}
