package io.github.lbpdjl.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.github.lbpdjl.ndarray.Intermediates;

/**
 * A feature map (B, C, H, W) as token rows (B, H*W, C) and back, the token t = i * W + j being
 * position (i, j); each releases the arrays it consumes but not its argument.
 */
final class FeatureMaps {

    private FeatureMaps() {}

    /** (B, C, H, W) to (B, H*W, C). */
    static NDArray toTokens(NDArray map) {
        Shape s = map.getShape();
        NDArray flat = map.reshape(s.get(0), s.get(1), s.get(2) * s.get(3));
        NDArray tokens = flat.transpose(0, 2, 1);
        Intermediates.release(flat, map, tokens);
        return tokens;
    }

    /** (B, H*W, C) to (B, C, H, W) with the given H and W. */
    static NDArray toMap(NDArray tokens, long height, long width) {
        Shape s = tokens.getShape();
        NDArray t = tokens.transpose(0, 2, 1);
        NDArray map = t.reshape(s.get(0), s.get(2), height, width);
        Intermediates.release(t, tokens, map);
        return map;
    }
}
