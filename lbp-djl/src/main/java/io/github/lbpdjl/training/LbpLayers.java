package io.github.lbpdjl.training;

import ai.djl.Model;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.nn.LbpLayer;
import java.util.Map;

/** The layers the LBP-WHT listeners schedule and report on: every {@link LbpLayer}, by path. */
final class LbpLayers {

    private LbpLayers() {}

    static Map<String, LbpLayer> of(Model model) {
        return BlockTree.find(model.getBlock(), LbpLayer.class);
    }
}
