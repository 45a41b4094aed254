package io.github.lbpdjl.zoo.train;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.training.initializer.XavierInitializer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.CosineTracker;
import ai.djl.training.tracker.WarmUpTracker;
import io.github.lbpdjl.safetensors.DType;
import io.github.lbpdjl.safetensors.SafetensorsWriter;
import io.github.lbpdjl.zoo.VitVariant;
import io.github.lbpdjl.zoo.data.Mnist;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Trains the zoo's {@code vit_micro_patch4_32} on MNIST with the PyTorch engine and a fixed seed,
 * and writes the weights as safetensors with timm names (the file the zoo ships).
 *
 * <p>Recipe: 28x28 images zero-padded to 32x32 and normalised ({@link Mnist}); training images
 * shifted by a random offset of up to 2 pixels in each direction ({@code Random(seed + 1)}); timm's
 * "jax" initialisation of the Linear weights (Xavier uniform, zero biases), {@code pos_embed}
 * normal std 0.02; AdamW (lr 2e-3, weight decay 0.05, betas 0.9/0.999, gradients clipped
 * elementwise to [-1, 1]), batch 128 (last partial batch dropped), linear warm-up from lr/100 over
 * 400 steps then cosine decay to 1e-5, softmax cross-entropy, 5 epochs; the training set is
 * shuffled each epoch with {@code java.util.Random(seed)} and the engine seeded with {@code seed}.
 * Multi-threaded CPU kernels may make reruns differ in the last digits.
 *
 * <p>Run from the project root (the engines are test-scoped, hence {@code
 * -Dexec.classpathScope=test}):
 *
 * <pre>
 * mvn -q -B -o install -DskipTests
 * w=model-zoo/src/main/resources/io/github/lbpdjl/zoo/weights
 * mvn -q -B -o -pl model-zoo compile exec:java -Dexec.classpathScope=test -Dai.djl.offline=true \
 *   -Dexec.mainClass=io.github.lbpdjl.zoo.train.TrainMicroMnist \
 *   -Dexec.args="--data .data/mnist --out $w/vit_micro_patch4_32-mnist.safetensors"
 * </pre>
 *
 * (exec:java runs inside Maven's JVM, whose working directory is the project root.)
 *
 * <p>Arguments: {@code --data DIR} (default {@link Mnist#findDataDir()}), {@code --epochs N} (5),
 * {@code --seed S} (42), {@code --batch B} (128), {@code --lr LR} (2e-3), {@code --warmup STEPS}
 * (400), {@code --shift PX} (2, 0 = no augmentation), {@code --init jax|timm} (jax), {@code
 * --pos-std S} (0.02), {@code --out FILE}, {@code --limit N} (use only the first N training images,
 * for smoke tests). Never downloads anything.
 */
public final class TrainMicroMnist {

    private TrainMicroMnist() {}

    /**
     * Entry point.
     *
     * @param args see the class documentation
     * @throws IOException if the data cannot be read or the weights not written
     */
    public static void main(String[] args) throws IOException {
        Path data = null;
        int epochs = 5;
        long seed = 42;
        int batch = 128;
        float lr = 2e-3f;
        int limit = Integer.MAX_VALUE;
        float posStd = 0.02f;
        String init = "jax";
        int warmupSteps = 400;
        int shift = 2;
        Path out = Paths.get("vit_micro_patch4_32-mnist.safetensors");
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("missing value after " + a);
            }
            String v = args[++i];
            switch (a) {
                case "--data":
                    data = Paths.get(v);
                    break;
                case "--epochs":
                    epochs = Integer.parseInt(v);
                    break;
                case "--seed":
                    seed = Long.parseLong(v);
                    break;
                case "--batch":
                    batch = Integer.parseInt(v);
                    break;
                case "--lr":
                    lr = Float.parseFloat(v);
                    break;
                case "--out":
                    out = Paths.get(v);
                    break;
                case "--shift":
                    shift = Integer.parseInt(v);
                    break;
                case "--warmup":
                    warmupSteps = Integer.parseInt(v);
                    break;
                case "--init":
                    init = v;
                    break;
                case "--pos-std":
                    posStd = Float.parseFloat(v);
                    break;
                case "--limit":
                    limit = Integer.parseInt(v);
                    break;
                default:
                    throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        if (data == null) {
            data = Mnist.findDataDir();
        }
        Mnist train = Mnist.load(data, true);
        Mnist test = Mnist.load(data, false);
        int n = Math.min(limit, train.size());
        System.out.printf(
                Locale.ROOT,
                "MNIST from %s: %d train (using %d), %d test%n",
                data.toAbsolutePath(),
                train.size(),
                n,
                test.size());

        Engine engine = Engine.getEngine("PyTorch");
        engine.setRandomSeed((int) seed);
        VitVariant variant = VitVariant.VIT_MICRO_PATCH4_32;
        VisionTransformer vit = variant.build();
        int stepsPerEpoch = n / batch; // drop the last partial batch
        int totalSteps = stepsPerEpoch * epochs;
        int warmup = Math.min(warmupSteps, totalSteps / 5);
        long t0 = System.nanoTime();
        float testAcc;
        try (Model model =
                Model.newInstance(variant.getName(), Device.cpu(), engine.getEngineName())) {
            model.setBlock(vit);
            // a unit-variance position embedding (as vit-pytorch) instead of timm's std 0.02: with
            // a few epochs, positions must matter from the start
            vit.timmParameters().get("pos_embed").setInitializer(new NormalInitializer(posStd));
            if ("jax".equals(init)) {
                // timm's "jax" init: Xavier-uniform Linear weights (std 0.02 is too small to
                // train a 64-wide model quickly)
                for (Block b : vit.namedModules().values()) {
                    if (b instanceof Linear) {
                        b.setInitializer(
                                new XavierInitializer(
                                        XavierInitializer.RandomType.UNIFORM,
                                        XavierInitializer.FactorType.AVG,
                                        3),
                                Parameter.Type.WEIGHT);
                    }
                }
            }
            vit.initialize(model.getNDManager());
            CosineTracker cosine =
                    CosineTracker.builder()
                            .setBaseValue(lr)
                            .optFinalValue(1e-5f)
                            .setMaxUpdates(Math.max(1, totalSteps - warmup))
                            .build();
            WarmUpTracker tracker =
                    WarmUpTracker.builder()
                            .setMainTracker(cosine)
                            .optWarmUpSteps(warmup)
                            .optWarmUpBeginValue(lr / 100)
                            .build();
            Optimizer opt =
                    Optimizer.adamW()
                            .optLearningRateTracker(tracker)
                            .optWeightDecays(0.05f)
                            .optClipGrad(1f)
                            .build();
            DefaultTrainingConfig config =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss()).optOptimizer(opt);
            Random rng = new Random(seed);
            Random augment = new Random(seed + 1);
            float background = -Mnist.MEAN / Mnist.STD;
            int[] order = new int[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            int pix = Mnist.SIZE * Mnist.SIZE;
            float[] images = train.getImages();
            int[] labels = train.getLabels();
            try (Trainer trainer = model.newTrainer(config)) {
                NDManager base = trainer.getManager();
                for (int epoch = 0; epoch < epochs; epoch++) {
                    shuffle(order, rng);
                    double lossSum = 0;
                    long correct = 0;
                    long seen = 0;
                    for (int s = 0; s < stepsPerEpoch; s++) {
                        float[] xb = new float[batch * pix];
                        float[] yb = new float[batch];
                        for (int j = 0; j < batch; j++) {
                            int idx = order[s * batch + j];
                            if (shift == 0) {
                                System.arraycopy(images, idx * pix, xb, j * pix, pix);
                            } else {
                                int dy = augment.nextInt(2 * shift + 1) - shift;
                                int dx = augment.nextInt(2 * shift + 1) - shift;
                                translate(images, idx * pix, xb, j * pix, dy, dx, background);
                            }
                            yb[j] = labels[idx];
                        }
                        try (NDManager sub = base.newSubManager()) {
                            NDArray x = sub.create(xb, new Shape(batch, 1, Mnist.SIZE, Mnist.SIZE));
                            NDArray y = sub.create(yb, new Shape(batch));
                            try (GradientCollector gc = trainer.newGradientCollector()) {
                                NDArray logits = trainer.forward(new NDList(x)).singletonOrThrow();
                                NDArray loss =
                                        trainer.getLoss()
                                                .evaluate(new NDList(y), new NDList(logits));
                                gc.backward(loss);
                                float lv = loss.getFloat();
                                if (!Float.isFinite(lv)) {
                                    throw new IllegalStateException(
                                            "training diverged at epoch "
                                                    + (epoch + 1)
                                                    + " step "
                                                    + (s + 1)
                                                    + ": loss "
                                                    + lv);
                                }
                                lossSum += lv;
                                correct +=
                                        logits.argMax(1)
                                                .toType(DataType.FLOAT32, false)
                                                .eq(y)
                                                .sum()
                                                .getLong();
                                seen += batch;
                            }
                            trainer.step();
                        }
                        if ((s + 1) % 50 == 0 || s + 1 == stepsPerEpoch) {
                            System.out.printf(
                                    Locale.ROOT,
                                    "epoch %d step %d/%d loss %.4f acc %.4f (%.0f s)%n",
                                    epoch + 1,
                                    s + 1,
                                    stepsPerEpoch,
                                    lossSum / (s + 1),
                                    (double) correct / seen,
                                    (System.nanoTime() - t0) / 1e9);
                        }
                    }
                }
            }
            testAcc = evaluate(model, vit, test, test.size());
            System.out.printf(
                    Locale.ROOT,
                    "test accuracy %.4f on %d images (%.0f s total)%n",
                    testAcc,
                    test.size(),
                    (System.nanoTime() - t0) / 1e9);
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "pt");
            meta.put("arch", variant.getName());
            meta.put("dataset", "mnist");
            meta.put("test_accuracy", String.format(Locale.ROOT, "%.4f", testAcc));
            meta.put("epochs", Integer.toString(epochs));
            meta.put("seed", Long.toString(seed));
            meta.put("batch", Integer.toString(batch));
            meta.put("lr", Float.toString(lr));
            meta.put("train_images", Integer.toString(n));
            meta.put("warmup", Integer.toString(warmup));
            meta.put("augment", "random shift up to " + shift + " px");
            meta.put("init", init);
            meta.put("preprocess", "zero-pad 28->32, x/255, (x-0.1307)/0.3081");
            SafetensorsWriter.writeParameters(out, vit.timmParameters(), DType.F32, meta);
            System.out.println("wrote " + out.toAbsolutePath());
        }
    }

    /**
     * Top-1 accuracy of a model on the first {@code count} images of a split.
     *
     * @param model the model (its block must be {@code vit})
     * @param vit the block
     * @param split the data
     * @param count how many images
     * @return the accuracy in [0, 1]
     */
    public static float evaluate(Model model, VisionTransformer vit, Mnist split, int count) {
        int batch = 250;
        long correct = 0;
        int pix = Mnist.SIZE * Mnist.SIZE;
        ParameterStore ps = new ParameterStore(model.getNDManager(), false);
        for (int from = 0; from < count; from += batch) {
            int to = Math.min(count, from + batch);
            try (NDManager sub = model.getNDManager().newSubManager()) {
                NDArray x =
                        sub.create(
                                split.images(from, to),
                                new Shape(to - from, 1, Mnist.SIZE, Mnist.SIZE));
                NDArray logits = vit.forward(ps, new NDList(x), false).singletonOrThrow();
                long[] pred = logits.argMax(1).toType(DataType.INT64, false).toLongArray();
                int[] labels = split.getLabels();
                for (int i = 0; i < pred.length; i++) {
                    if (pred[i] == labels[from + i]) {
                        correct++;
                    }
                }
            }
        }
        return (float) correct / count;
    }

    /** Copies one 32x32 image shifted by (dy, dx), filling what comes in with the background. */
    private static void translate(
            float[] src, int from, float[] dst, int to, int dy, int dx, float background) {
        int n = Mnist.SIZE;
        for (int r = 0; r < n; r++) {
            int sr = r - dy;
            for (int c = 0; c < n; c++) {
                int sc = c - dx;
                dst[to + r * n + c] =
                        sr >= 0 && sr < n && sc >= 0 && sc < n
                                ? src[from + sr * n + sc]
                                : background;
            }
        }
    }

    private static void shuffle(int[] a, Random rng) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
