package io.github.lbpdjl.examples.bench;

import io.github.lbpdjl.LbpConfig;
import io.github.lbpdjl.examples.common.Method.Kind;
import io.github.lbpdjl.nn.BackwardFlops;
import io.github.lbpdjl.wht.TokenLayout;
import io.github.lbpdjl.zoo.vit.VisionTransformer;

/**
 * FLOPs of one training step of a zoo ViT, per sample, counting matrix products only (a
 * multiply-add is 2 FLOPs): the speed-up limit of a method is its count over full backprop's.
 *
 * <p>Forward, every block: the patch-embedding convolution, qkv, proj, fc1 and fc2 (plus the LoRA
 * adapters' two small products where LoRA is applied), attention's two matrix products ({@code q
 * k^T} and {@code attn v}, {@code 4 N^2 C}) and the head. Backward, the trained blocks only (the
 * last {@code trainedBlocks}): each linear layer's input and weight gradients ({@link
 * BackwardFlops#of}: full, or LBP-WHT on {@code E + k P} rows plus the transforms; {@link
 * BackwardFlops#lora} for LoRA and LoRA + LBP-WHT), attention's products twice their forward
 * ({@code 8 N^2 C}), the head ({@code 4 C classes}) and, when every block and the embeddings are
 * trained with full or LBP-WHT, the patch embedding's weight gradient. The input gradient of the
 * first trained layer is counted although nothing below it needs it. Left out: LayerNorm, softmax,
 * GELU, residual additions, the attention scale and the optimizer update (about 15 FLOPs per
 * trainable parameter, under 1% of a ViT-B step at batch 8).
 */
public final class StepFlops {

    private StepFlops() {}

    /**
     * Counts the FLOPs of one training step per sample.
     *
     * @param vit the model (its shapes)
     * @param trainedBlocks how many of the last blocks are trained (the head always is)
     * @param kind the method: {@link Kind#FULL}, {@link Kind#LBP}, {@link Kind#LORA} or {@link
     *     Kind#LORA_LBP}
     * @param lbp the LBP-WHT configuration for {@link Kind#LBP} and {@link Kind#LORA_LBP}, else
     *     ignored
     * @param rank the LoRA rank for {@link Kind#LORA} and {@link Kind#LORA_LBP}, else ignored
     * @return forward plus backward FLOPs per sample
     */
    public static double perSample(
            VisionTransformer vit, int trainedBlocks, Kind kind, LbpConfig lbp, int rank) {
        if (kind == Kind.HEAD || kind == Kind.ENERGY) {
            throw new IllegalArgumentException("no step FLOP count for " + kind);
        }
        int depth = vit.getDepth();
        if (trainedBlocks < 0 || trainedBlocks > depth) {
            throw new IllegalArgumentException(
                    "trained blocks must be in 0.." + depth + ", got " + trainedBlocks);
        }
        boolean lora = kind == Kind.LORA || kind == Kind.LORA_LBP;
        boolean usesLbp = kind == Kind.LBP || kind == Kind.LORA_LBP;
        if (usesLbp && lbp == null) {
            throw new IllegalArgumentException(kind + " needs an LBP-WHT configuration");
        }
        TokenLayout layout = TokenLayout.of(vit);
        LbpConfig config = usesLbp ? lbp.toBuilder().optLayout(layout).build() : null;
        double n = layout.getTokenCount();
        double patches = n - layout.getExtraTokens();
        double c = vit.getEmbedDim();
        double h = vit.getMlpHiddenDim();
        double pixels = (double) vit.getInChannels() * vit.getPatchSize() * vit.getPatchSize();
        double classes = vit.getNumClasses();
        long[][] shapes = {
            {(long) c, 3 * (long) c},
            {(long) c, (long) c},
            {(long) c, (long) h},
            {(long) h, (long) c}
        };
        double attention = 4 * n * n * c;

        double forward = 2 * patches * pixels * c + 2 * c * classes;
        double backward = 4 * c * classes;
        if (trainedBlocks == depth && !lora) {
            backward += 2 * patches * pixels * c; // weight gradient only: the image needs none
        }
        for (int b = 0; b < depth; b++) {
            boolean trained = b >= depth - trainedBlocks;
            forward += attention;
            for (long[] s : shapes) {
                forward += 2 * n * s[0] * s[1];
                if (lora && trained) {
                    forward += 2 * n * rank * (s[0] + s[1]);
                }
            }
            if (!trained) {
                continue;
            }
            backward += 2 * attention;
            for (long[] s : shapes) {
                switch (kind) {
                    case FULL:
                        backward += 4 * n * s[0] * s[1];
                        break;
                    case LBP:
                        backward += BackwardFlops.of(layout, config, s[0], s[1]).getLbp();
                        break;
                    case LORA:
                        backward += BackwardFlops.lora(layout, null, s[0], s[1], rank);
                        break;
                    case LORA_LBP:
                        backward += BackwardFlops.lora(layout, config, s[0], s[1], rank);
                        break;
                    default:
                        throw new IllegalStateException(kind.name());
                }
            }
        }
        return forward + backward;
    }
}
