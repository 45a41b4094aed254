package io.github.lbpdjl.examples.adapt;

import ai.djl.Model;
import io.github.lbpdjl.examples.common.Method;
import io.github.lbpdjl.examples.common.TrainedBlocks;
import io.github.lbpdjl.peft.LoraConfig;
import io.github.lbpdjl.peft.LoraModel;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.training.FineTuning;
import io.github.lbpdjl.training.LbpTrainingListener;
import io.github.lbpdjl.wht.TokenLayout;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import java.util.List;

/**
 * What a method changes in a loaded ViT before training, under the paper's recipe: which parameters
 * are frozen, where LBP-WHT rewrites the linear layers (the training listener) and, for LoRA, the
 * adapters.
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
     * @param model the loaded model, its block a {@link VisionTransformer}
     * @param method the method
     * @param blocks the trained blocks
     * @param trainBlocks the --train-blocks setting ('all' trains the embeddings too)
     * @param energyEvery sample the gradient energy kept every N batches; 0 = off
     * @return the listener (LBP-WHT methods), LoRA model (LoRA methods) and what to freeze
     */
    static Recipe apply(
            Model model, Method method, List<Integer> blocks, String trainBlocks, int energyEvery) {
        VisionTransformer vit = (VisionTransformer) model.getBlock();
        TokenLayout layout = TokenLayout.of(vit);
        TargetModules linears =
                TargetModules.regex(TrainedBlocks.regex(blocks) + TrainedBlocks.LINEARS);
        LbpTrainingListener.Builder lb = LbpTrainingListener.builder();
        LoraModel lora = null;
        TargetModules frozen = null;
        if (method.usesLora()) {
            // PEFT's recipe: the base model frozen, LoRA on the blocks' linear layers, the head
            // trained
            LoraConfig.Builder lc =
                    LoraConfig.builder()
                            .optRank(method.getRank())
                            .optTargets(linears)
                            .optModulesToSave("head");
            if (method.getKind() == Method.Kind.LORA_LBP) {
                lc.optLbp(method.lbpConfig(layout));
            }
            lora = LoraModel.apply(model, lc.build());
        } else {
            frozen = frozen(method, blocks, trainBlocks);
            lb.optFrozen(frozen);
        }
        if (!method.usesLbp()) {
            return new Recipe(null, lora, frozen);
        }
        lb.optRewriter(
                LbpRewriter.builder()
                        .optTargets(linears)
                        .optConfig(method.lbpConfig())
                        .optLayout(layout)
                        .build());
        lb.optEnergySampling(energyEvery);
        if (method.getKind() == Method.Kind.ENERGY) {
            lb.optEnergyAdaptive(method.getEnergyTarget(), 21, 20);
        }
        return new Recipe(lb.build(), lora, null);
    }

    /**
     * The paper's recipe for every method: norm layers frozen, head trained; with all blocks the
     * embeddings train too, with the last N only those blocks; head-only trains the head alone.
     */
    private static TargetModules frozen(Method method, List<Integer> blocks, String trainBlocks) {
        if (method.getKind() == Method.Kind.HEAD) {
            return TargetModules.regex("(?!head\\.).*");
        }
        String norms = "|.*norm[0-9]*\\..*";
        if (trainBlocks.equals("all")) {
            return TargetModules.regex("(?!.)" + norms); // nothing but norms
        }
        if (blocks.isEmpty()) {
            return TargetModules.regex("(?!head\\.).*");
        }
        return TargetModules.regex("(?!" + TrainedBlocks.regex(blocks) + "\\.|head\\.).*" + norms);
    }
}
