/**
 * The lbp-djl model zoo: the ViT family ({@link io.github.lbpdjl.zoo.VitVariant}) through DJL's
 * Criteria ({@link io.github.lbpdjl.zoo.VitModelZoo}, {@link io.github.lbpdjl.zoo.VitModelLoader})
 * and weight import/export with timm or Hugging Face names ({@link
 * io.github.lbpdjl.zoo.VitWeights}).
 */
package io.github.lbpdjl.zoo;
