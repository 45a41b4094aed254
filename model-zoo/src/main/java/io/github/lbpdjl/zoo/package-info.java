/**
 * The lbp-djl model zoo: the ViT family ({@link io.github.lbpdjl.zoo.VitVariant}, blocks in {@code
 * zoo.vit}) and EfficientFormer ({@link io.github.lbpdjl.zoo.EfficientFormerVariant}, blocks in
 * {@code zoo.efficientformer}) through DJL's Criteria ({@link io.github.lbpdjl.zoo.VitModelZoo},
 * one {@link io.github.lbpdjl.zoo.TimmModelLoader} per artifact; {@code NDList -> NDList}, or
 * {@code Image -> Classifications} with each model's {@link io.github.lbpdjl.zoo.Preprocessing}),
 * and weight import/export with timm names ({@link io.github.lbpdjl.zoo.VitWeights}, also Hugging
 * Face's ViT names; {@link io.github.lbpdjl.zoo.EfficientFormerWeights}).
 */
package io.github.lbpdjl.zoo;
