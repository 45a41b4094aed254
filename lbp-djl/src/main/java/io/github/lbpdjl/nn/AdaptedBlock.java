package io.github.lbpdjl.nn;

import ai.djl.nn.Block;

/**
 * A block that took over a plain DJL block for fine-tuning (an {@link AdaptedLinear} over a Linear,
 * an LBP-WHT 1x1 convolution over a Conv2d), sharing its Parameter objects, and can give it back:
 * tuners skip such blocks and undo them.
 */
public interface AdaptedBlock extends Block {

    /**
     * Returns a plain block of the kind this one took over, with the same base Parameter objects
     * (not copies); what the adaptation added is dropped.
     *
     * @return the plain block
     */
    Block toOriginal();
}
