package io.github.lbpdjl.wht;

import io.github.lbpdjl.modules.TokenGrid;
import java.util.Objects;

/**
 * How the tokens of a layer's input are laid out: {@code extraTokens} tokens first (class token,
 * distillation token), then a {@code height x width} grid in row-major order.
 */
public final class TokenLayout {

    private final int extraTokens;
    private final int height;
    private final int width;

    private TokenLayout(int extraTokens, int height, int width) {
        if (extraTokens < 0) {
            throw new IllegalArgumentException("extraTokens must be >= 0, got " + extraTokens);
        }
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException(
                    "grid height and width must be >= 1, got " + height + "x" + width);
        }
        this.extraTokens = extraTokens;
        this.height = height;
        this.width = width;
    }

    /**
     * A grid with no extra tokens.
     *
     * @param height grid rows
     * @param width grid columns
     * @return the layout
     */
    public static TokenLayout grid(int height, int width) {
        return new TokenLayout(0, height, width);
    }

    /**
     * A grid preceded by {@code extraTokens} tokens along the token axis.
     *
     * @param extraTokens tokens before the grid (e.g. 1 for a class token)
     * @param height grid rows
     * @param width grid columns
     * @return the layout
     */
    public static TokenLayout grid(int extraTokens, int height, int width) {
        return new TokenLayout(extraTokens, height, width);
    }

    /**
     * Returns the layout of a model that states its token grid: its prefix tokens are the extra
     * tokens, its patch grid the grid.
     *
     * @param model the model, e.g. the zoo's VisionTransformer
     * @return the layout
     */
    public static TokenLayout of(TokenGrid model) {
        int[] hw = model.getGridSize();
        return grid(model.getNumPrefixTokens(), hw[0], hw[1]);
    }

    /**
     * Infers the layout of {@code tokens} tokens as E extra tokens plus a square grid, for E in 0,
     * 1, 2. Among three consecutive counts at most one is a non-zero square, so the answer is
     * unique when it exists.
     *
     * @param tokens the number of tokens
     * @return the layout, or null if no E in 0..2 leaves a square
     */
    public static TokenLayout inferSquare(long tokens) {
        for (int extra = 0; extra <= 2; extra++) {
            long grid = tokens - extra;
            if (grid < 1) {
                break;
            }
            long side = Math.round(Math.sqrt((double) grid));
            if (side * side == grid) {
                return new TokenLayout(extra, (int) side, (int) side);
            }
        }
        return null;
    }

    /**
     * @return the number of tokens before the grid
     */
    public int getExtraTokens() {
        return extraTokens;
    }

    /**
     * @return the grid rows
     */
    public int getHeight() {
        return height;
    }

    /**
     * @return the grid columns
     */
    public int getWidth() {
        return width;
    }

    /**
     * @return the total number of tokens, extra tokens plus grid
     */
    public int getTokenCount() {
        return extraTokens + height * width;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof TokenLayout)) {
            return false;
        }
        TokenLayout t = (TokenLayout) o;
        return extraTokens == t.extraTokens && height == t.height && width == t.width;
    }

    @Override
    public int hashCode() {
        return Objects.hash(extraTokens, height, width);
    }

    @Override
    public String toString() {
        return extraTokens + " extra + " + height + "x" + width + " grid";
    }
}
