package io.github.lbpdjl.zoo.efficientformer;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.initializer.XavierInitializer;

/** The DJL layers EfficientFormer is made of, configured as PyTorch's defaults. */
final class Layers {

    private Layers() {}

    /**
     * A Conv2d with bias, its weight initialised as PyTorch's default ({@code kaiming_uniform_(a =
     * sqrt 5)}: uniform in +-1/sqrt(fan_in)); the bias starts at zero.
     */
    static Conv2d conv(int filters, int kernel, int stride, int padding) {
        Conv2d conv =
                Conv2d.builder()
                        .setFilters(filters)
                        .setKernelShape(new Shape(kernel, kernel))
                        .optStride(new Shape(stride, stride))
                        .optPadding(new Shape(padding, padding))
                        .build();
        conv.setInitializer(
                new XavierInitializer(
                        XavierInitializer.RandomType.UNIFORM, XavierInitializer.FactorType.IN, 1),
                Parameter.Type.WEIGHT);
        return conv;
    }

    /** PyTorch's BatchNorm2d: channel axis 1, epsilon 1e-5, momentum 0.1 (DJL's 0.9). */
    static BatchNorm batchNorm() {
        return BatchNorm.builder().optAxis(1).optEpsilon(1e-5f).optMomentum(0.9f).build();
    }

    /** LayerNorm over the channels of (B, N, C) tokens. */
    static LayerNorm layerNorm(float eps) {
        return LayerNorm.builder().axis(2).optEpsilon(eps).build();
    }
}
