/**
 * The Vision Transformer as DJL blocks with timm module and parameter names, and the utilities to
 * address ({@link io.github.lbpdjl.zoo.vit.TimmModules}, over the project's {@link
 * io.github.lbpdjl.modules.BlockTree}) and replace ({@link
 * io.github.lbpdjl.zoo.vit.TimmBlock#replaceChild}) modules by timm path. Each block's forward
 * releases its intermediates at its end ({@link io.github.lbpdjl.ndarray.Intermediates}).
 */
package io.github.lbpdjl.zoo.vit;
