package io.github.lbpdjl.examples.common;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * The parameter count of a block: every initialised Parameter object once (a shared one is not
 * counted twice), and those of them that require gradients as trainable.
 *
 * @param trainable the values that receive gradients
 * @param all every value
 */
public record Parameters(long trainable, long all) {

    /**
     * Counts a block's parameters.
     *
     * @param block the block, e.g. a model's
     * @return its counts
     */
    public static Parameters count(Block block) {
        Set<Parameter> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        long trainable = 0;
        long all = 0;
        for (Pair<String, Parameter> p : block.getParameters()) {
            Parameter param = p.getValue();
            if (!seen.add(param) || !param.isInitialized()) {
                continue;
            }
            long n = param.getArray().size();
            all += n;
            if (param.requiresGradient()) {
                trainable += n;
            }
        }
        return new Parameters(trainable, all);
    }
}
