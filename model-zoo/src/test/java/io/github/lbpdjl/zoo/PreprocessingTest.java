package io.github.lbpdjl.zoo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.modality.cv.Image;
import ai.djl.repository.zoo.ModelZoo;
import io.github.lbpdjl.zoo.data.Mnist;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Each variant's preprocessing is timm's pretrained_cfg (or the micro ViT's training). */
class PreprocessingTest {

    private static final float[] HALF = {0.5f, 0.5f, 0.5f};
    private static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
    private static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};

    @Test
    void vitsAreTimmsAugregConfigAndDeitsImagenets() {
        for (VitVariant v : VitVariant.values()) {
            Preprocessing p = v.getPreprocessing();
            if (v == VitVariant.VIT_MICRO_PATCH4_32) {
                continue;
            }
            assertEquals(3, p.getChannels(), v.getName());
            boolean big = v.getImageSize() == 384;
            assertEquals(big ? 384 : 224, p.getImageSize(), v.getName());
            assertEquals(Image.Interpolation.BICUBIC, p.getInterpolation(), v.getName());
            assertEquals(big ? 1.0 : 0.9, p.getCropPct(), 0, v.getName());
            assertEquals(big ? 384 : 248, p.getResizeSize(), v.getName());
            // timm's default weights: DeiT's and DINO's (vit_small_patch8_224) are ImageNet's
            boolean deit = v.getName().startsWith("deit_") || v == VitVariant.VIT_SMALL_PATCH8_224;
            assertArrayEquals(deit ? IMAGENET_MEAN : HALF, p.getMean(), v.getName());
            assertArrayEquals(deit ? IMAGENET_STD : HALF, p.getStd(), v.getName());
        }
    }

    @Test
    void efficientFormerIsTimms() {
        for (EfficientFormerVariant v : EfficientFormerVariant.values()) {
            Preprocessing p = v.getPreprocessing();
            assertEquals(3, p.getChannels());
            assertEquals(224, p.getImageSize());
            assertEquals(Image.Interpolation.BICUBIC, p.getInterpolation());
            assertEquals(0.95, p.getCropPct(), 0);
            assertEquals(235, p.getResizeSize());
            assertArrayEquals(IMAGENET_MEAN, p.getMean());
            assertArrayEquals(IMAGENET_STD, p.getStd());
        }
        assertEquals(
                "input_size=(3, 224, 224), interpolation=bicubic, crop_pct=0.95,"
                        + " mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]",
                EfficientFormerVariant.EFFICIENTFORMER_L1.getPreprocessing().toString());
    }

    @Test
    void microVitIsItsTraining() {
        Preprocessing p = VitVariant.VIT_MICRO_PATCH4_32.getPreprocessing();
        assertEquals(1, p.getChannels());
        assertEquals(32, p.getImageSize());
        // MNIST's 28 pixels padded to 32: the shorter side resized to 28 (a no-op for MNIST)
        assertEquals(28, p.getResizeSize());
        assertArrayEquals(new float[] {0.1307f}, p.getMean());
        assertArrayEquals(new float[] {0.3081f}, p.getStd());
        assertEquals(0.1307f, Mnist.MEAN);
        assertEquals(0.3081f, Mnist.STD);
    }

    @Test
    void eachLoaderGivesItsVariants() {
        ModelZoo zoo = ModelZoo.getModelZoo(VitModelZoo.GROUP_ID);
        for (VitVariant v : VitVariant.values()) {
            TimmModelLoader loader = (TimmModelLoader) zoo.getModelLoader(v.getName());
            assertEquals(v.getPreprocessing(), loader.getPreprocessing());
        }
        for (EfficientFormerVariant v : EfficientFormerVariant.values()) {
            TimmModelLoader loader = (TimmModelLoader) zoo.getModelLoader(v.getName());
            assertEquals(v.getPreprocessing(), loader.getPreprocessing());
        }
    }

    @Test
    void builderDefaultsAreTimmsAndValuesAreChecked() {
        Preprocessing p = Preprocessing.builder().setImageSize(256).build();
        assertEquals(Image.Interpolation.BICUBIC, p.getInterpolation());
        assertEquals(0.875, p.getCropPct(), 0);
        assertEquals(292, p.getResizeSize());
        assertArrayEquals(IMAGENET_MEAN, p.getMean());
        p.getMean()[0] = 9;
        assertArrayEquals(IMAGENET_MEAN, p.getMean(), "a copy");
        assertEquals(p, Preprocessing.builder().setImageSize(256).build());
        assertEquals(p.hashCode(), Preprocessing.builder().setImageSize(256).build().hashCode());
        assertNotEquals(p, Preprocessing.builder().setImageSize(256).optCropPct(0.9).build());

        assertMessage("imageSize", () -> Preprocessing.builder().build());
        assertMessage("cropPct must be > 0, got 0.0", () -> build(b -> b.optCropPct(0)));
        assertMessage("cropPct must be > 0", () -> build(b -> b.optCropPct(Double.NaN)));
        assertMessage(
                "interpolation must be nearest, bilinear or bicubic, got AREA",
                () -> build(b -> b.optInterpolation(Image.Interpolation.AREA)));
        assertMessage(
                "one value per channel, got 2 and 3", () -> build(b -> b.optMean(0.1f, 0.2f)));
        assertMessage("std > 0", () -> build(b -> b.optStd(1, 0, 1)));
    }

    @Test
    void channelsAdaptOnlyWhereTheyAreAlike() {
        Preprocessing micro = VitVariant.VIT_MICRO_PATCH4_32.getPreprocessing();
        assertSame(micro, micro.withChannels(1));
        Preprocessing three = micro.withChannels(3);
        assertArrayEquals(new float[] {0.1307f, 0.1307f, 0.1307f}, three.getMean());
        assertArrayEquals(new float[] {0.3081f, 0.3081f, 0.3081f}, three.getStd());
        assertEquals(micro.getResizeSize(), three.getResizeSize());
        assertArrayEquals(
                new float[] {0.5f},
                VitVariant.VIT_TINY_PATCH16_224.getPreprocessing().withChannels(1).getMean());
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () ->
                                EfficientFormerVariant.EFFICIENTFORMER_L1
                                        .getPreprocessing()
                                        .withChannels(1));
        assertTrue(e.getMessage().contains("takes 1 channels"), e.getMessage());
    }

    @Test
    void centreCropIsTorchvisions() {
        // (n - crop) / 2 rounded half to even, as Python's round
        assertArrayEquals(new int[] {6, 0, 224}, ResizeCrop.placement(235, 224)); // 5.5
        assertArrayEquals(new int[] {6, 0, 224}, ResizeCrop.placement(237, 224)); // 6.5
        assertArrayEquals(new int[] {6, 0, 224}, ResizeCrop.placement(236, 224));
        assertArrayEquals(new int[] {4, 0, 32}, ResizeCrop.placement(39, 32)); // 3.5
        assertArrayEquals(new int[] {0, 0, 224}, ResizeCrop.placement(224, 224));
        // smaller: padded, (crop - n) / 2 before, the rest after
        assertArrayEquals(new int[] {0, 2, 28}, ResizeCrop.placement(28, 32));
        assertArrayEquals(new int[] {0, 2, 27}, ResizeCrop.placement(27, 32));
    }

    private static Preprocessing build(UnaryOperator<Preprocessing.Builder> f) {
        return f.apply(Preprocessing.builder().setImageSize(224)).build();
    }

    private static void assertMessage(String part, Runnable r) {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, r::run, "expected: " + part);
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
