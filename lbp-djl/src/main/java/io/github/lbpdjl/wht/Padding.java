package io.github.lbpdjl.wht;

/**
 * How a token grid whose sides are not multiples of the patch size is padded before it is cut into
 * patches. Padding is centred: top = ceil(pad / 2), bottom the rest; the same for columns.
 */
public enum Padding {
    /** Zero padding: with all bases selected the gradients are exactly those of full backprop. */
    ZERO,
    /**
     * Reflect padding, as the reference code does (mirror without repeating the edge). Not exact at
     * full rank for the weight gradient.
     */
    REFLECT
}
