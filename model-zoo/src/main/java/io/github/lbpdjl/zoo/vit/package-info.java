/**
 * The Vision Transformer as DJL blocks with timm module and parameter names, and the utilities to
 * address ({@link io.github.lbpdjl.zoo.vit.TimmModules}) and replace ({@link
 * io.github.lbpdjl.zoo.vit.TimmBlock#replaceChild}) modules by timm path.
 */
package io.github.lbpdjl.zoo.vit;
