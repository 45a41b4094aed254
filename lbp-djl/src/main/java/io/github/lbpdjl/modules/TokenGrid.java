package io.github.lbpdjl.modules;

/**
 * A model whose token-wise layers see {@code E} prefix tokens (class, distillation, register
 * tokens) followed by an {@code H x W} grid of patch tokens, as timm describes a vision transformer
 * ({@code num_prefix_tokens}, {@code patch_embed.grid_size}). A model says only this; tuners derive
 * their token layout from it.
 */
public interface TokenGrid {

    /**
     * Returns the number of prefix tokens before the grid.
     *
     * @return E, at least 0
     */
    int getNumPrefixTokens();

    /**
     * Returns the size of the patch-token grid.
     *
     * @return {H, W}
     */
    int[] getGridSize();
}
