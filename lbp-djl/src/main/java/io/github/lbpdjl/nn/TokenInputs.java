package io.github.lbpdjl.nn;

import ai.djl.ndarray.types.Shape;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.wht.TokenLayout;

/** The token layout of an adapted layer's training input, with the errors that name the layer. */
final class TokenInputs {

    private TokenInputs() {}

    /**
     * Checks a training input and returns its token layout: the configured one, or E extra tokens +
     * a square grid.
     *
     * @param layer the layer's description for messages
     * @param shape the input shape
     * @param features the input features the weight expects
     * @param c the LBP-WHT configuration
     * @return the layout of the token axis
     * @throws IllegalArgumentException naming the layer, the shape and what it needs
     */
    static TokenLayout layout(String layer, Shape shape, long features, LbpConfig c) {
        if (shape.dimension() < 3) {
            throw new IllegalArgumentException(
                    layer
                            + ": got input of shape "
                            + shape
                            + "; LBP-WHT needs (batch, tokens, features) or more leading axes");
        }
        long last = shape.get(shape.dimension() - 1);
        if (last != features) {
            throw new IllegalArgumentException(
                    layer
                            + ": got input of shape "
                            + shape
                            + " with "
                            + last
                            + " features; the weight needs "
                            + features);
        }
        long tokens = shape.get(shape.dimension() - 2);
        TokenLayout layout = c.getLayout();
        if (layout != null) {
            if (layout.getTokenCount() != tokens) {
                throw new IllegalArgumentException(
                        layer
                                + ": got input of shape "
                                + shape
                                + " with "
                                + tokens
                                + " tokens; the layout ("
                                + layout
                                + ") needs "
                                + layout.getTokenCount());
            }
            return layout;
        }
        TokenLayout inferred = TokenLayout.inferSquare(tokens);
        if (inferred == null) {
            throw new IllegalArgumentException(
                    layer
                            + ": got input of shape "
                            + shape
                            + "; "
                            + tokens
                            + " tokens is not E + a square for E in 0..2, so the grid cannot be"
                            + " inferred: set LbpConfig.optLayout(TokenLayout.grid(E, H, W))");
        }
        return inferred;
    }

    /**
     * Checks a feature map (B, C, H, W) given to a 1x1 convolution and returns its token layout:
     * its H x W grid with no extra tokens, which a configured layout must be.
     *
     * @param layer the layer's description for messages
     * @param shape the input shape
     * @param channels the input channels the weight expects, or -1 if not known yet
     * @param c the LBP-WHT configuration
     * @return the layout of the positions
     * @throws IllegalArgumentException naming the layer, the shape and what it needs
     */
    static TokenLayout grid(String layer, Shape shape, long channels, LbpConfig c) {
        String problem = null;
        TokenLayout grid = null;
        if (shape.dimension() != 4) {
            problem = "LBP-WHT needs (batch, channels, height, width)";
        } else if (channels >= 0 && shape.get(1) != channels) {
            problem = "the weight needs " + channels + " channels";
        } else {
            grid = TokenLayout.grid(0, (int) shape.get(2), (int) shape.get(3));
            TokenLayout configured = c.getLayout();
            if (configured != null && !configured.equals(grid)) {
                problem =
                        "the configured layout (" + configured + ") is not its grid (" + grid + ")";
            }
        }
        if (problem != null) {
            throw new IllegalArgumentException(
                    layer + ": got input of shape " + shape + "; " + problem);
        }
        return grid;
    }
}
