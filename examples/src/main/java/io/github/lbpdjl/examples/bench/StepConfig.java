package io.github.lbpdjl.examples.bench;

import io.github.lbpdjl.examples.common.Method;
import io.github.lbpdjl.examples.common.TrainedPart;
import java.util.ArrayList;
import java.util.List;

/**
 * What every run of the training-step benchmark shares: the model, engine, batch and the methods
 * compared.
 *
 * @param model the zoo model, e.g. vit_base_patch16_224 or efficientformer_l1
 * @param engine PyTorch or MXNet
 * @param batch the batch size
 * @param orders the LP_L1 orders of LBP-WHT
 * @param loraRank the LoRA rank (alpha = 2 x rank); 0 leaves LoRA out
 * @param loraLbpOrder the LP_L1 order of LoRA + LBP-WHT; 0 leaves it out
 */
record StepConfig(
        String model,
        String engine,
        int batch,
        List<Integer> orders,
        int loraRank,
        int loraLbpOrder) {

    /**
     * Returns whether the model is a ViT.
     *
     * @throws IllegalArgumentException if the zoo has no such model
     */
    boolean isVit() {
        return TrainedPart.of(model, "all").isVit();
    }

    /** Returns the methods compared: full, LP_L1-O for each order, lora-R and lora-R+LP_L1-O. */
    List<Method> methods() {
        List<Method> out = new ArrayList<>();
        out.add(Method.parse("full"));
        for (int o : orders) {
            out.add(Method.parse("LP_L1-" + o));
        }
        if (loraRank > 0) {
            out.add(Method.parse("lora-" + loraRank));
            if (loraLbpOrder > 0) {
                out.add(Method.parse("lora-" + loraRank + "+LP_L1-" + loraLbpOrder));
            }
        }
        return out;
    }

    /**
     * Returns the method of that name among {@link #methods()}.
     *
     * @throws IllegalArgumentException if there is none
     */
    Method method(String name) {
        for (Method m : methods()) {
            if (m.getName().equals(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown method " + name);
    }

    /** Returns the LoRA + LBP-WHT method, or null when it is left out. */
    Method loraLbp() {
        return loraRank > 0 && loraLbpOrder > 0
                ? Method.parse("lora-" + loraRank + "+LP_L1-" + loraLbpOrder)
                : null;
    }
}
