package io.github.lbpdjl.wht;

import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The LBP-WHT projection of one token layout: padding, patching, the k selected bases of a patch
 * and the extra tokens.
 *
 * <p>It is described <em>per patch</em> (factored): the grid is padded, centred, to {@code Hp x
 * Wp}, multiples of the patch side p, and cut into {@code P} patches; the {@link #basis()} matrix
 * (k x p*p) gives the k coefficients of one patch. Training uses that form (O(k N C) work, O(k p^2)
 * numbers). The same projection as dense matrices over the token axis, with {@code M = E + k * P}
 * rows (E extra tokens) and N columns, is made on demand (O(k P N) numbers), for tests, statistics
 * and the dense path of tiny grids:
 *
 * <ul>
 *   <li>{@link #gather()} Q: row e selects extra token e; row {@code E + patch * k + b} holds basis
 *       b over the padded patch, so {@code Q x} gives the coefficients x_k = &lt;x_patch, B_k&gt;.
 *       With reflect padding the padded positions fold onto the tokens they mirror.
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

    private final TokenLayout layout;
    private final int patchSize;
    private final Padding padding;
    private final int paddedHeight;
    private final int paddedWidth;
    private final int top;
    private final int left;
    private final int bases;
    private final int patches;
    private final float[] basis;
    private final int[] foldedTokens;

    private PatchProjection(TokenLayout layout, int p, int[][] basisList, Padding padding) {
        this.layout = layout;
        this.patchSize = p;
        this.padding = padding;
        int h = layout.getHeight();
        int w = layout.getWidth();
        this.paddedHeight = ceilTo(h, p);
        this.paddedWidth = ceilTo(w, p);
        this.top = (paddedHeight - h + 1) / 2;
        this.left = (paddedWidth - w + 1) / 2;
        this.patches = (paddedHeight / p) * (paddedWidth / p);
        this.bases = basisList.length;
        int[][] walsh = WalshMatrix.sequency(p);
        this.basis = new float[bases * p * p];
        for (int b = 0; b < bases; b++) {
            int[] wr = walsh[basisList[b][0]];
            int[] wc = walsh[basisList[b][1]];
            for (int i = 0; i < p; i++) {
                for (int j = 0; j < p; j++) {
                    basis[(b * p + i) * p + j] = wr[i] * wc[j];
                }
            }
        }
        this.foldedTokens = padding == Padding.REFLECT && isPadded() ? patchTokens(true) : null;
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
     * For every position of the padded grid in patch order (position {@code patch * p^2 + i * p +
     * j}, patches row-major), the token it holds: {@code E + row * W + column}, or -1 for a padded
     * position (or its mirrored token when {@code fold}).
     */
    private int[] patchTokens(boolean fold) {
        int p = patchSize;
        int h = layout.getHeight();
        int w = layout.getWidth();
        int extra = layout.getExtraTokens();
        int patchCols = paddedWidth / p;
        int[] out = new int[patches * p * p];
        for (int patch = 0; patch < patches; patch++) {
            int pr = patch / patchCols;
            int pc = patch % patchCols;
            for (int i = 0; i < p; i++) {
                int gi = pr * p + i - top;
                for (int j = 0; j < p; j++) {
                    int gj = pc * p + j - left;
                    boolean inside = gi >= 0 && gi < h && gj >= 0 && gj < w;
                    int token = -1;
                    if (inside) {
                        token = extra + gi * w + gj;
                    } else if (fold) {
                        token = extra + reflect(gi, h) * w + reflect(gj, w);
                    }
                    out[(patch * p + i) * p + j] = token;
                }
            }
        }
        return out;
    }

    /** The dense matrix (M x N) of the gather (folded) or the scatter, patch rows scaled. */
    private float[] dense(boolean fold, float scale) {
        int extra = layout.getExtraTokens();
        int n = getTokens();
        int pp = patchSize * patchSize;
        int[] tokens = fold && foldedTokens != null ? foldedTokens : patchTokens(false);
        float[] q = new float[getRows() * n];
        for (int e = 0; e < extra; e++) {
            q[e * n + e] = 1f;
        }
        for (int patch = 0; patch < patches; patch++) {
            for (int b = 0; b < bases; b++) {
                int row = extra + patch * bases + b;
                for (int s = 0; s < pp; s++) {
                    int t = tokens[patch * pp + s];
                    if (t >= 0) {
                        q[row * n + t] += basis[b * pp + s] * scale;
                    }
                }
            }
        }
        return q;
    }

    /**
     * @return M = E + k * P, the number of projected rows
     */
    public int getRows() {
        return layout.getExtraTokens() + bases * patches;
    }

    /**
     * @return N, the number of tokens
     */
    public int getTokens() {
        return layout.getTokenCount();
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
     * @return the token layout
     */
    public TokenLayout getLayout() {
        return layout;
    }

    /**
     * @return p, the patch side
     */
    public int getPatchSize() {
        return patchSize;
    }

    /**
     * @return Hp, the grid height padded to a multiple of p
     */
    public int getPaddedHeight() {
        return paddedHeight;
    }

    /**
     * @return Wp, the grid width padded to a multiple of p
     */
    public int getPaddedWidth() {
        return paddedWidth;
    }

    /**
     * @return the padded rows above the grid, ceil((Hp - H) / 2)
     */
    public int getTop() {
        return top;
    }

    /**
     * @return the padded columns left of the grid, ceil((Wp - W) / 2)
     */
    public int getLeft() {
        return left;
    }

    /**
     * @return whether the grid is padded (H or W not a multiple of p)
     */
    public boolean isPadded() {
        return paddedHeight != layout.getHeight() || paddedWidth != layout.getWidth();
    }

    /**
     * Whether the coefficients of x fold padded positions onto the tokens they mirror (REFLECT on a
     * padded grid), so that they differ from the zero-padded coefficients that map back to x.
     *
     * @return true if folded
     */
    public boolean isFolded() {
        return foldedTokens != null;
    }

    /**
     * Returns the k selected bases of one patch, row b being basis b over the patch's p * p
     * positions ({@code i * p + j}), entries +1 or -1.
     *
     * @return the matrix, row-major k x p*p (a copy)
     */
    public float[] basis() {
        return basis.clone();
    }

    /**
     * Returns, for every position of the padded grid in patch order ({@code patch * p^2 + i * p +
     * j}), the token whose value the reflect-padded grid holds there: {@link #isFolded()} only.
     *
     * @return P * p * p token indices (a copy)
     * @throws IllegalStateException if the projection is not folded
     */
    public int[] foldedTokens() {
        if (foldedTokens == null) {
            throw new IllegalStateException("not a folded (REFLECT, padded) projection");
        }
        return foldedTokens.clone();
    }

    /**
     * Returns, for a folded projection, where each grid token's value comes from when the
     * reflect-padded grid is folded back (the transpose of the folded gather): list j holds, for
     * every grid token {@code row * W + column}, the j-th patch-order position that holds it (its
     * own position first), or -1. A token of a grid padded by less than its side has at most two
     * positions per axis, so there are at most four lists.
     *
     * @return R lists of H * W positions (new arrays)
     * @throws IllegalStateException if the projection is not folded
     */
    public int[][] foldSources() {
        int[] folded = foldedTokens();
        int[] own = patchTokens(false);
        int extra = layout.getExtraTokens();
        int grid = layout.getHeight() * layout.getWidth();
        int[] count = new int[grid];
        for (int t : folded) {
            count[t - extra]++;
        }
        int lists = 0;
        for (int c : count) {
            lists = Math.max(lists, c);
        }
        int[][] out = new int[lists][grid];
        for (int[] list : out) {
            Arrays.fill(list, -1);
        }
        int[] next = new int[grid];
        Arrays.fill(next, 1);
        for (int s = 0; s < folded.length; s++) {
            int t = folded[s] - extra;
            if (own[s] >= 0) {
                out[0][t] = s;
            } else {
                out[next[t]++][t] = s;
            }
        }
        return out;
    }

    /**
     * @return Q, row-major M x N (made on each call)
     */
    public float[] gather() {
        return dense(true, 1f);
    }

    /**
     * @return Qs, row-major M x N (made on each call)
     */
    public float[] spread() {
        return dense(true, 1f / (patchSize * patchSize));
    }

    /**
     * @return the zero-padded Q, row-major M x N (made on each call)
     */
    public float[] scatter() {
        return dense(false, 1f);
    }

    /**
     * @return whether {@link #scatter()} equals {@link #gather()}
     */
    public boolean isGatherScatterEqual() {
        return !isFolded() || Arrays.equals(gather(), scatter());
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
