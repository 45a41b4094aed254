package io.github.lbpdjl.examples.adapt;

import io.github.lbpdjl.zoo.data.Mnist;
import io.github.lbpdjl.zoo.vit.TimmModel;
import java.util.Arrays;

/**
 * How a zoo model takes images: side, channels, crop fraction at evaluation and per-channel mean
 * and standard deviation. The zoo's MNIST ViT takes MNIST's normalisation; EfficientFormer
 * ImageNet's (timm's pretrained_cfg, crop 0.95); timm's ViTs 0.5/0.5 (crop 0.9).
 *
 * @param side the input height and width
 * @param channels 1 or 3
 * @param cropPct the centre crop's share of the resized image at evaluation
 * @param mean per channel
 * @param std per channel
 */
record ModelInput(int side, int channels, double cropPct, float[] mean, float[] std) {

    /**
     * Returns a model's input.
     *
     * @param name the zoo name
     * @param net the model, built with its default channels
     * @return the input
     */
    static ModelInput of(String name, TimmModel net) {
        int side = (int) net.getInputShape(1).get(2);
        int channels = (int) net.getInputShape(1).get(1);
        if (name.startsWith("vit_micro")) {
            return new ModelInput(
                    side, channels, 1.0, fill(channels, Mnist.MEAN), fill(channels, Mnist.STD));
        }
        if (name.startsWith("efficientformer")) {
            return new ModelInput(
                    side,
                    channels,
                    0.95,
                    new float[] {0.485f, 0.456f, 0.406f},
                    new float[] {0.229f, 0.224f, 0.225f});
        }
        return new ModelInput(side, channels, 0.9, fill(channels, 0.5f), fill(channels, 0.5f));
    }

    private static float[] fill(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }
}
