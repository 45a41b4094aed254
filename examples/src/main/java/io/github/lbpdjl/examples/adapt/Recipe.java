package io.github.lbpdjl.examples.adapt;

import ai.djl.Model;
import io.github.lbpdjl.examples.common.Method;
import io.github.lbpdjl.examples.common.TrainedPart;
import io.github.lbpdjl.modules.TokenGrid;
import io.github.lbpdjl.peft.LoraConfig;
import io.github.lbpdjl.peft.LoraModel;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.training.FineTuning;
import io.github.lbpdjl.training.LbpTrainingListener;
import io.github.lbpdjl.wht.TokenLayout;

/**
 * What a method changes in a loaded zoo model before training, under the paper's recipe: which
 * parameters are frozen, where LBP-WHT rewrites the token-wise layers (the training listener) and,
 * for LoRA, the adapters.
 */
final class Recipe {

    /**
     * For the methods that rewrite with LBP-WHT: freezes, rewrites and samples gradient energy;
     * apply it as a training listener. Null for the others, which have no LBP layer to report on.
     */
    final LbpTrainingListener listener;

    /** The LoRA model, or null. */
    final LoraModel lora;

    /** What {@link #prepare} freezes for a method without listener or LoRA, else null. */
    private final TargetModules frozen;

    private Recipe(LbpTrainingListener listener, LoraModel lora, TargetModules frozen) {
        this.listener = listener;
        this.lora = lora;
        this.frozen = frozen;
    }

    /**
     * Freezes what the method does not train; call it after the trainer is made (newTrainer
     * unfreezes a loaded PyTorch model). The LBP-WHT listener freezes by itself.
     *
     * @param model the model
     */
    void prepare(Model model) {
        if (lora != null) {
            lora.freeze();
        } else if (listener == null) {
            FineTuning.freeze(model, frozen);
        }
    }

    /**
     * Prepares a model for a method.
     *
     * @param model the loaded model, its block a zoo model
     * @param method the method
     * @param part the trained part of the model
     * @param energyEvery sample the gradient energy kept every N batches; 0 = off
     * @return the listener (LBP-WHT methods), LoRA model (LoRA methods) and what to freeze
     */
    static Recipe apply(Model model, Method method, TrainedPart part, int energyEvery) {
        // one grid (ViT, EfficientFormer), or each layer's from the model (SwinV2's LayerGrids)
        TokenLayout layout =
                model.getBlock() instanceof TokenGrid
                        ? TokenLayout.of((TokenGrid) model.getBlock())
                        : null;
        TargetModules tokenwise = part.tokenwiseLayers();
        LbpTrainingListener.Builder lb = LbpTrainingListener.builder();
        LoraModel lora = null;
        TargetModules frozen = null;
        if (method.usesLora()) {
            // PEFT's recipe: the base model frozen, LoRA on the trained part's linear layers, the
            // head trained
            LoraConfig.Builder lc =
                    LoraConfig.builder()
                            .optRank(method.getRank())
                            .optTargets(tokenwise)
                            .optExclude(part.loraExclusions(model.getBlock()))
                            .optModulesToSave(part.heads());
            if (method.getKind() == Method.Kind.LORA_LBP) {
                lc.optLbp(method.lbpConfig(layout));
            }
            lora = LoraModel.apply(model, lc.build());
        } else {
            frozen = part.frozen(method.getKind() == Method.Kind.HEAD);
            lb.optFrozen(frozen);
        }
        if (!method.usesLbp()) {
            return new Recipe(null, lora, frozen);
        }
        lb.optRewriter(
                LbpRewriter.builder()
                        .optTargets(tokenwise)
                        .optConfig(method.lbpConfig())
                        .optLayout(layout)
                        .build());
        lb.optEnergySampling(energyEvery);
        if (method.getKind() == Method.Kind.ENERGY) {
            lb.optEnergyAdaptive(method.getEnergyTarget(), 21, 20);
        }
        return new Recipe(lb.build(), lora, null);
    }
}
