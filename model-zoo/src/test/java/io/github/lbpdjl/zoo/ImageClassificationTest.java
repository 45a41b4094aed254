package io.github.lbpdjl.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.inference.Predictor;
import ai.djl.modality.Classifications;
import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Image -> Classifications through Criteria, on both engines, against the same computed by hand:
 * pixels read from the BufferedImage, resized by index arithmetic (nearest), by the Pillow-checked
 * {@link Resampling} (bicubic) or not at all, cropped and padded by index arithmetic with offsets
 * worked out here, normalised per channel, the block's forward, a softmax in double. Probabilities
 * agree to 1e-5 of the largest one; a crop one pixel off does not.
 */
class ImageClassificationTest {

    private static final double TOLERANCE = 1e-5;
    private static final float[] HALF = {0.5f, 0.5f, 0.5f};
    private static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
    private static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void vitResizesBicubicAndCropsAsTimm(String engine) throws Exception {
        try (ZooModel<Image, Classifications> m =
                classifier("vit_tiny_patch16_224", engine, Map.of("seed", 3))) {
            // 300x200: shorter side to floor(224 / 0.9) = 248, longer 248 * 300 / 200 = 372;
            // crop at (372 - 224) / 2 = 74 and (248 - 224) / 2 = 12
            BufferedImage img = randomRgb(300, 200, 1);
            byte[] resized =
                    Resampling.resize(
                            bytes(pixels(img, 3)),
                            300,
                            200,
                            3,
                            372,
                            248,
                            Image.Interpolation.BICUBIC);
            int[] r = ints(resized);
            double[] want = manual(m, window(r, 248, 372, 3, 224, 12, 74), 3, HALF, HALF);
            Classifications got = classify(m, img);
            assertEquals(1000, got.getClassNames().size());
            assertEquals("0", got.getClassNames().get(0));
            assertEquals("999", got.getClassNames().get(999));
            assertClose(want, got, "vit_tiny 300x200 on " + engine);
            double[] shifted = manual(m, window(r, 248, 372, 3, 224, 12, 75), 3, HALF, HALF);
            assertSensitive(want, shifted, "a crop one pixel to the right");
            assertEquals(argMax(want), Integer.parseInt(got.best().getClassName()));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void vitAtItsSizeWithCropPctOneIsOnlyNormalised(String engine) throws Exception {
        Map<String, Object> args =
                Map.of("seed", 3, "cropPct", 1, "mean", "0.3, 0.4, 0.5", "std", "0.2,0.25,0.3");
        try (ZooModel<Image, Classifications> m =
                classifier("vit_tiny_patch16_224", engine, args)) {
            BufferedImage img = randomRgb(224, 224, 2);
            float[] mean = {0.3f, 0.4f, 0.5f};
            float[] std = {0.2f, 0.25f, 0.3f};
            double[] want = manual(m, pixels(img, 3), 3, mean, std);
            assertClose(want, classify(m, img), "vit_tiny 224x224 on " + engine);
            assertSensitive(want, manual(m, pixels(img, 3), 3, HALF, HALF), "the default mean");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void efficientFormerGreyImagesAndCropOffsets(String engine) throws Exception {
        Map<String, Object> args = Map.of("cropPct", "1.0", "interpolation", "nearest");
        try (ZooModel<Image, Classifications> m = classifier("efficientformer_l1", engine, args)) {
            // a grey image at the model's size: its value in all three channels
            BufferedImage grey = randomGrey(224, 224, 3);
            assertEquals(BufferedImage.TYPE_BYTE_GRAY, grey.getType());
            double[] want = manual(m, pixels(grey, 3), 3, IMAGENET_MEAN, IMAGENET_STD);
            assertClose(want, classify(m, grey), "grey 224x224 on " + engine);

            // 175x117: shorter side to 224, longer floor(224 * 175 / 117) = 335 (nearest:
            // floor((i + 0.5) * in / out)); crop at (335 - 224) / 2 = 55.5, rounded to even: 56
            BufferedImage wide = randomRgb(175, 117, 4);
            int[] r = nearest(pixels(wide, 3), 117, 175, 3, 224, 335);
            want = manual(m, window(r, 224, 335, 3, 224, 0, 56), 3, IMAGENET_MEAN, IMAGENET_STD);
            assertClose(want, classify(m, wide), "175x117 on " + engine);
            double[] floor =
                    manual(m, window(r, 224, 335, 3, 224, 0, 55), 3, IMAGENET_MEAN, IMAGENET_STD);
            assertSensitive(want, floor, "the crop at 55");

            // 237x224: not resized; crop at (237 - 224) / 2 = 6.5, rounded to even: 6
            BufferedImage odd = randomRgb(237, 224, 5);
            want =
                    manual(
                            m,
                            window(pixels(odd, 3), 224, 237, 3, 224, 0, 6),
                            3,
                            IMAGENET_MEAN,
                            IMAGENET_STD);
            assertClose(want, classify(m, odd), "237x224 on " + engine);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"PyTorch", "MXNet"})
    void microVitPadsAsItsTraining(String engine) throws Exception {
        Map<String, Object> args = Map.of("pretrained", "mnist");
        float[] mean = {0.1307f};
        float[] std = {0.3081f};
        try (ZooModel<Image, Classifications> m = classifier("vit_micro_patch4_32", engine, args)) {
            // 28x28 as MNIST: not resampled, 2 black pixels on each side, as Mnist.load pads
            BufferedImage digit = randomGrey(28, 28, 6);
            double[] want =
                    manual(m, window(pixels(digit, 1), 28, 28, 1, 32, -2, -2), 1, mean, std);
            Classifications got = classify(m, digit);
            assertEquals(10, got.getClassNames().size());
            assertClose(want, got, "28x28 grey on " + engine);
            assertSensitive(
                    want,
                    manual(m, window(pixels(digit, 1), 28, 28, 1, 32, -3, -2), 1, mean, std),
                    "padding one row more at the top");

            // a colour image is read as grey: round(0.299 R + 0.587 G + 0.114 B)
            BufferedImage colour = randomRgb(28, 28, 7);
            want = manual(m, window(pixels(colour, 1), 28, 28, 1, 32, -2, -2), 1, mean, std);
            assertClose(want, classify(m, colour), "28x28 colour on " + engine);

            // 300x200 of one grey: resized to 42x28 (still that grey), columns 5..36 kept, two
            // black rows above and below
            BufferedImage flat = new BufferedImage(300, 200, BufferedImage.TYPE_BYTE_GRAY);
            for (int y = 0; y < 200; y++) {
                for (int x = 0; x < 300; x++) {
                    flat.getRaster().setSample(x, y, 0, 200);
                }
            }
            int[] crop = new int[32 * 32];
            for (int y = 2; y < 30; y++) {
                for (int x = 0; x < 32; x++) {
                    crop[y * 32 + x] = 200;
                }
            }
            assertClose(manual(m, crop, 1, mean, std), classify(m, flat), "flat on " + engine);
        }
    }

    static ZooModel<Image, Classifications> classifier(
            String artifact, String engine, Map<String, ?> args) throws Exception {
        Criteria.Builder<Image, Classifications> b =
                Criteria.builder()
                        .setTypes(Image.class, Classifications.class)
                        .optGroupId(VitModelZoo.GROUP_ID)
                        .optArtifactId(artifact)
                        .optEngine(engine);
        for (Map.Entry<String, ?> e : args.entrySet()) {
            b.optArgument(e.getKey(), e.getValue());
        }
        return b.build().loadModel();
    }

    static Classifications classify(ZooModel<Image, Classifications> model, BufferedImage img)
            throws Exception {
        try (Predictor<Image, Classifications> p = model.newPredictor()) {
            return p.predict(ImageFactory.getInstance().fromImage(img));
        }
    }

    static BufferedImage randomRgb(int width, int height, long seed) {
        Random rng = new Random(seed);
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                img.setRGB(x, y, rng.nextInt(1 << 24));
            }
        }
        return img;
    }

    static BufferedImage randomGrey(int width, int height, long seed) {
        Random rng = new Random(seed);
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                img.getRaster().setSample(x, y, 0, rng.nextInt(256));
            }
        }
        return img;
    }

    /** The image's pixels, (H, W, C), grey repeated or RGB weighted into grey as DJL reads it. */
    static int[] pixels(BufferedImage img, int channels) {
        int w = img.getWidth();
        int h = img.getHeight();
        boolean grey = img.getType() == BufferedImage.TYPE_BYTE_GRAY;
        int[] out = new int[h * w * channels];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int[] rgb = new int[3];
                if (grey) {
                    int v = img.getRaster().getSample(x, y, 0);
                    rgb = new int[] {v, v, v};
                } else {
                    int p = img.getRGB(x, y);
                    rgb = new int[] {(p >> 16) & 0xff, (p >> 8) & 0xff, p & 0xff};
                }
                int at = (y * w + x) * channels;
                if (channels == 3) {
                    System.arraycopy(rgb, 0, out, at, 3);
                } else {
                    out[at] =
                            grey
                                    ? rgb[0]
                                    : Math.round(
                                            0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2]);
                }
            }
        }
        return out;
    }

    /** Nearest-neighbour resize: target pixel i takes source pixel floor((i + 0.5) * in / out). */
    static int[] nearest(int[] hwc, int h, int w, int c, int outH, int outW) {
        int[] out = new int[outH * outW * c];
        for (int y = 0; y < outH; y++) {
            int sy = (int) Math.floor((y + 0.5) * h / outH);
            for (int x = 0; x < outW; x++) {
                int sx = (int) Math.floor((x + 0.5) * w / outW);
                System.arraycopy(hwc, (sy * w + sx) * c, out, (y * outW + x) * c, c);
            }
        }
        return out;
    }

    /** The size x size window at (top, left) of an image; outside it, zeros. */
    static int[] window(int[] hwc, int h, int w, int c, int size, int top, int left) {
        int[] out = new int[size * size * c];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int sy = top + y;
                int sx = left + x;
                if (sy >= 0 && sy < h && sx >= 0 && sx < w) {
                    System.arraycopy(hwc, (sy * w + sx) * c, out, (y * size + x) * c, c);
                }
            }
        }
        return out;
    }

    /** The probabilities of a size x size (H, W, C) crop: normalised, forward, softmax. */
    static double[] manual(ZooModel<?, ?> model, int[] crop, int c, float[] mean, float[] std) {
        int size = (int) Math.round(Math.sqrt(crop.length / c));
        float[] chw = new float[crop.length];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                for (int k = 0; k < c; k++) {
                    float v = crop[(y * size + x) * c + k] / 255f;
                    chw[(k * size + y) * size + x] = (v - mean[k]) / std[k];
                }
            }
        }
        float[] logits;
        try (NDManager sub = model.getNDManager().newSubManager()) {
            NDArray x = sub.create(chw, new Shape(1, c, size, size));
            logits =
                    model.getBlock()
                            .forward(new ParameterStore(sub, false), new NDList(x), false)
                            .singletonOrThrow()
                            .toFloatArray();
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        double[] p = new double[logits.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    static void assertClose(double[] want, Classifications got, String what) {
        List<Double> probabilities = got.getProbabilities();
        assertEquals(want.length, probabilities.size(), what);
        double tol = TOLERANCE * want[argMax(want)];
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            worst = Math.max(worst, Math.abs(want[i] - probabilities.get(i)));
        }
        assertTrue(worst <= tol, what + ": max |difference| " + worst + " > " + tol);
    }

    /** The check above must see a change this small. */
    static void assertSensitive(double[] want, double[] other, String what) {
        double tol = TOLERANCE * want[argMax(want)];
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            worst = Math.max(worst, Math.abs(want[i] - other[i]));
        }
        assertTrue(worst > 100 * tol, what + " changes the probabilities by only " + worst);
    }

    static int argMax(double[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) {
            if (p[i] > p[best]) {
                best = i;
            }
        }
        return best;
    }

    static byte[] bytes(int[] values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    static int[] ints(byte[] values) {
        int[] v = new int[values.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = values[i] & 0xff;
        }
        return v;
    }
}
