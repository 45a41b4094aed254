/**
 * EfficientFormer (Li et al., 2022) as DJL blocks with timm's module and parameter names,
 * numerically timm's {@code efficientformer.py}: {@link
 * io.github.lbpdjl.zoo.efficientformer.EfficientFormer} and its parts. Module paths are lbp-djl's
 * {@link io.github.lbpdjl.modules.BlockTree} paths, equal to timm's module names ({@code
 * stages.3.blocks.4.token_mixer.qkv}), and {@link io.github.lbpdjl.modules.BlockTree#parameters}
 * equals timm's {@code state_dict} keys but for the integer buffers ({@code num_batches_tracked},
 * {@code attention_bias_idxs}). Each block's forward releases its intermediates at its end ({@link
 * io.github.lbpdjl.ndarray.Intermediates}).
 */
package io.github.lbpdjl.zoo.efficientformer;
