package io.github.lbpdjl.modules;

import java.util.Map;

/**
 * A model whose token-wise layers see different token grids (a hierarchical transformer: windows
 * for the attention, each stage's map for the MLP), stating the grid of each layer by its path.
 * Each listed layer's input is (..., H W, C) with the tokens of one H x W grid, row-major, and no
 * prefix tokens. Tuners derive each layer's token layout from it, as from {@link TokenGrid} for a
 * model with one grid.
 */
public interface LayerGrids {

    /**
     * Returns the grid each listed layer sees.
     *
     * @return layer path (as {@link BlockTree} names it, from the model) to {H, W}
     */
    Map<String, int[]> getLayerGrids();
}
