/**
 * Swin Transformer V2 (Liu et al., 2022) as DJL blocks with timm's module and parameter names,
 * numerically timm's {@code swin_transformer_v2.py}: {@link
 * io.github.lbpdjl.zoo.swin.SwinTransformerV2} and its parts. Feature maps are NHWC (B, H, W, C) as
 * in timm; the window attention sees (B * windows, window tokens, C), the MLP the stage's grid as
 * (B, H W, C) and the patch merging's reduction the merged grid as (B, H/2 W/2, 4C), so that every
 * Linear sees token rows of one grid (see {@link
 * io.github.lbpdjl.zoo.swin.SwinTransformerV2#getLayerGrids()}). Module paths are lbp-djl's {@link
 * io.github.lbpdjl.modules.BlockTree} paths, equal to timm's module names ({@code
 * layers.1.blocks.0.attn.qkv}), and {@link io.github.lbpdjl.modules.BlockTree#parameters} equals
 * timm's {@code state_dict} keys (timm's buffers here are all non-persistent, computed in Java).
 */
package io.github.lbpdjl.zoo.swin;
