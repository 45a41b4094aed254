package io.github.lbpdjl.zoo.swin;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.zoo.vit.Mlp;
import io.github.lbpdjl.zoo.vit.TimmBlock;
import java.util.function.UnaryOperator;

/**
 * timm's {@code SwinTransformerV2Block} on an NHWC map (B, H, W, C), with residual post-norm:
 * {@code x = x + norm1(attn(x))} (the map rolled by minus the shift, cut into windows, attended,
 * merged and rolled back), then over the tokens (B, H W, C) {@code x = x + norm2(mlp(x))}.
 *
 * <p>Children (timm names): {@code attn} ({@link WindowAttention}), {@code norm1}, {@code mlp} (the
 * ViT's {@link Mlp}: {@code fc1}, {@code fc2}), {@code norm2}. The norms' weights start at zero, as
 * timm's {@code _init_respostnorm}.
 */
public class SwinBlock extends TimmBlock {

    private final int dim;
    private final int gridHeight;
    private final int gridWidth;
    private final int windowHeight;
    private final int windowWidth;
    private final int shiftHeight;
    private final int shiftWidth;

    /**
     * Creates the block.
     *
     * @param dim the channels C
     * @param numHeads the attention heads
     * @param grid the map {H, W}
     * @param window the window {wh, ww} (timm's, after clipping to the map), dividing the map
     * @param shift the shift {sh, sw} ({0, 0}: not shifted)
     * @param mlpHidden the hidden width of the MLP
     * @param layerNormEps the LayerNorm epsilon
     * @param activation the MLP's activation
     */
    public SwinBlock(
            int dim,
            int numHeads,
            int[] grid,
            int[] window,
            int[] shift,
            int mlpHidden,
            float layerNormEps,
            UnaryOperator<NDArray> activation) {
        if (grid[0] % window[0] != 0 || grid[1] % window[1] != 0) {
            throw new IllegalArgumentException(
                    "the "
                            + grid[0]
                            + "x"
                            + grid[1]
                            + " map is not a whole number of "
                            + window[0]
                            + "x"
                            + window[1]
                            + " windows (padded windows are not supported)");
        }
        this.dim = dim;
        this.gridHeight = grid[0];
        this.gridWidth = grid[1];
        this.windowHeight = window[0];
        this.windowWidth = window[1];
        this.shiftHeight = shift[0];
        this.shiftWidth = shift[1];
        addTimmChild("attn", new WindowAttention(dim, numHeads, window, grid, shift));
        addTimmChild("norm1", SwinOps.zeroLayerNorm(4, layerNormEps));
        addTimmChild("mlp", new Mlp(dim, mlpHidden, activation));
        addTimmChild("norm2", SwinOps.zeroLayerNorm(3, layerNormEps));
    }

    /**
     * @return the window {wh, ww}
     */
    public int[] getWindowSize() {
        return new int[] {windowHeight, windowWidth};
    }

    /**
     * @return the cyclic shift {sh, sw}
     */
    public int[] getShiftSize() {
        return new int[] {shiftHeight, shiftWidth};
    }

    /**
     * @return the map {H, W}
     */
    public int[] getGridSize() {
        return new int[] {gridHeight, gridWidth};
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        Shape s = x.getShape();
        if (s.dimension() != 4
                || s.get(1) != gridHeight
                || s.get(2) != gridWidth
                || s.get(3) != dim) {
            throw new IllegalArgumentException(
                    "SwinV2 block expects (B, "
                            + gridHeight
                            + ", "
                            + gridWidth
                            + ", "
                            + dim
                            + "), got "
                            + s);
        }
        long b = s.get(0);
        NDList consumed = new NDList();
        NDArray rolledH = SwinOps.roll(x, -shiftHeight, 1, consumed);
        NDArray shifted = SwinOps.roll(rolledH, -shiftWidth, 2, consumed);
        NDArray windows = SwinOps.partition(shifted, windowHeight, windowWidth, consumed);
        NDArray attended = forwardChild(0, parameterStore, windows, training, params);
        NDArray merged =
                SwinOps.reverse(
                        attended, windowHeight, windowWidth, gridHeight, gridWidth, consumed);
        NDArray backH = SwinOps.roll(merged, shiftHeight, 1, consumed);
        NDArray back = SwinOps.roll(backH, shiftWidth, 2, consumed);
        NDArray n1 = forwardChild(1, parameterStore, back, training, params);
        NDArray x1 = x.add(n1);
        NDArray tokens = x1.reshape(b, (long) gridHeight * gridWidth, dim);
        NDArray m = forwardChild(2, parameterStore, tokens, training, params);
        NDArray n2 = forwardChild(3, parameterStore, m, training, params);
        NDArray x2 = tokens.add(n2);
        NDList y = new NDList(x2.reshape(b, gridHeight, gridWidth, dim));
        consumed.addAll(new NDList(rolledH, shifted, windows, attended, merged, backH, back));
        // (a zero roll returns its input: releaseAll keeps the inputs and closes each array once)
        consumed.addAll(new NDList(n1, x1, tokens, m, n2, x2));
        Intermediates.releaseAll(consumed, inputs, y);
        return y;
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        long b = inputShapes[0].get(0);
        long windows = b * (gridHeight / windowHeight) * (gridWidth / windowWidth);
        child(0).initialize(
                        manager,
                        dataType,
                        new Shape(windows, (long) windowHeight * windowWidth, dim));
        child(1).initialize(manager, dataType, inputShapes[0]);
        Shape tokens = new Shape(b, (long) gridHeight * gridWidth, dim);
        child(2).initialize(manager, dataType, tokens);
        child(3).initialize(manager, dataType, tokens);
    }
}
