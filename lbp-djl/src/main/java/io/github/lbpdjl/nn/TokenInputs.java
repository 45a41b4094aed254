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
}
