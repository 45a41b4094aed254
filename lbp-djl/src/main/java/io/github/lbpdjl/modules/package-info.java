/**
 * Module paths over a DJL block tree, one system for the whole project: {@link
 * io.github.lbpdjl.modules.BlockTree} walks a tree by PyTorch-style dotted paths ({@code
 * blocks.0.attn.qkv}), names parameters as PyTorch does ({@code norm1.weight} for DJL's {@code
 * gamma}) and replaces a child in place; {@link io.github.lbpdjl.modules.TokenGrid} is how a model
 * states its token grid, {@link io.github.lbpdjl.modules.LayerGrids} how a model with several grids
 * states each layer's. Depends on DJL only: models and tuners both build on it.
 */
package io.github.lbpdjl.modules;
