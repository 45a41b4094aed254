package io.github.lbpdjl.examples.adapt;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.examples.common.Method;
import io.github.lbpdjl.examples.common.TrainedBlocks;
import io.github.lbpdjl.nn.BackwardFlops;
import io.github.lbpdjl.nn.LbpLinear;
import io.github.lbpdjl.peft.LoraLinear;
import io.github.lbpdjl.training.LbpTrainingListener;
import io.github.lbpdjl.wht.TokenLayout;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import java.util.List;
import java.util.Map;

/** What a method's backward pass costs, from the layers of the trained model. */
final class BackwardCost {

    private BackwardCost() {}

    /**
     * Backward MFLOPs per image of the token-wise linear layers of the trained blocks.
     *
     * @param vit the trained model, its layers as the method left them
     * @param blocks the trained blocks
     * @param layout the token layout
     * @param method the method, or null for full backprop of the same layers
     * @return MFLOPs per image
     */
    static double mflops(
            VisionTransformer vit, List<Integer> blocks, TokenLayout layout, Method method) {
        if (method != null && method.getKind() == Method.Kind.HEAD) {
            return 0;
        }
        double total = 0;
        String trained = TrainedBlocks.regex(blocks) + "\\..*";
        for (Map.Entry<String, Block> e : vit.namedModules().entrySet()) {
            if (!(e.getValue() instanceof Linear) || !e.getKey().matches(trained)) {
                continue;
            }
            Shape w = e.getValue().getParameters().get("weight").getShape();
            if (method != null && e.getValue() instanceof LoraLinear) {
                LoraLinear l = (LoraLinear) e.getValue();
                total +=
                        BackwardFlops.lora(
                                        layout, l.getLbpConfig(), w.get(1), w.get(0), l.getRank())
                                / 1e6;
                continue;
            }
            LbpConfig c =
                    e.getValue() instanceof LbpLinear && method != null
                            ? ((LbpLinear) e.getValue()).getConfig()
                            : LbpConfig.builder().build();
            BackwardFlops f = BackwardFlops.of(layout, c, w.get(1), w.get(0));
            total += (method != null && method.usesLbp() ? f.getLbp() : f.getFull()) / 1e6;
        }
        return total;
    }

    /**
     * The number of bases k per 8x8 patch: the mean over the LBP layers for an LBP method (energy
     * methods choose per layer), the selection's for LoRA + LBP-WHT, 64 (full rank) for full
     * backprop and LoRA, none for the head alone (it trains no token-wise layer).
     *
     * @param method the method
     * @param lbp the training listener, whose layers are the LBP layers; null without them
     * @return k, or null for the head alone
     */
    static Double basisCount(Method method, LbpTrainingListener lbp) {
        if (method.getKind() == Method.Kind.HEAD) {
            return null;
        }
        if (method.usesLbp()) {
            return lbp.getLayers().values().stream()
                    .mapToInt(l -> l.getConfig().getBasisCount())
                    .average()
                    .stream()
                    .boxed()
                    .findFirst()
                    .orElse(null);
        }
        return method.getKind() == Method.Kind.LORA_LBP
                ? (double) method.getSelection().count(8)
                : 64.0;
    }
}
