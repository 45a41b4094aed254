package io.github.lbpdjl.examples.adapt;

import ai.djl.engine.Engine;
import ai.djl.metric.Metrics;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.AdamW;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.CosineTracker;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.TranslateException;
import io.github.lbpdjl.examples.common.Medians;
import io.github.lbpdjl.examples.common.Method;
import io.github.lbpdjl.examples.common.Parameters;
import io.github.lbpdjl.examples.common.RssSampler;
import io.github.lbpdjl.examples.common.TokenwiseCost;
import io.github.lbpdjl.examples.common.TrainedPart;
import io.github.lbpdjl.training.LbpTrainingListener;
import io.github.lbpdjl.zoo.VitModelLoader;
import io.github.lbpdjl.zoo.VitModelZoo;
import io.github.lbpdjl.zoo.vit.TimmModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One method's run of the adaptation program: loads the model from the zoo through Criteria,
 * applies the method ({@link Recipe}), trains with AdamW, evaluates and measures it into a result
 * row.
 */
final class Adaptation {

    private final Adapt options;

    /**
     * Creates a run with the program's options.
     *
     * @param options the options (model, weights, recipe, engine, seed)
     */
    Adaptation(Adapt options) {
        this.options = options;
    }

    /**
     * Adapts the model with one method.
     *
     * @param method the method
     * @param data the training and test splits
     * @return its results
     * @throws Exception if loading, training or evaluating fails
     */
    Row run(Method method, Splits data) throws Exception {
        Adapt o = options;
        Engine.getEngine(o.engine).setRandomSeed(o.seed);
        try (ZooModel<NDList, NDList> zm = criteria(data).loadModel()) {
            TimmModel net = (TimmModel) zm.getBlock();
            TrainedPart part = TrainedPart.of(o.model, o.trainBlocks);
            TokenwiseCost cost = TokenwiseCost.of(o.model, part, o.engine);
            Recipe recipe = Recipe.apply(zm, method, part, o.energyEvery);
            LbpTrainingListener lbp = recipe.listener;
            TrainingLog log = new TrainingLog(TrainingLog.isTerminal());
            DefaultTrainingConfig cfg =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(optimizer(data))
                            .addEvaluator(new Accuracy())
                            .addTrainingListeners(TrainingListener.Defaults.basic())
                            .addTrainingListeners(log);
            if (lbp != null) {
                cfg.addTrainingListeners(lbp);
            }
            RssSampler rss = o.isolatedChild ? new RssSampler() : null;
            Row row = new Row();
            try (Trainer trainer = zm.newTrainer(cfg);
                    NDManager dm = trainer.getManager().newSubManager()) {
                // DJL logs loss and accuracy per epoch only with metrics
                trainer.setMetrics(new Metrics());
                recipe.prepare(zm);
                trainer.initialize(net.getInputShape(o.batch));
                RandomAccessDataset trainSet = data.train(dm, o.batch);
                RandomAccessDataset testSet = data.test(dm, o.batch);
                System.out.printf(
                        Locale.ROOT,
                        "%n== %s: training %s ==%n",
                        method,
                        method.getKind() == Method.Kind.HEAD ? "the head only" : part.describe());
                if (rss != null) {
                    rss.start();
                }
                double[] steps = fit(trainer, trainSet, testSet, log);
                if (rss != null) {
                    rss.stop();
                    row.peakRssMb = rss.peakMb();
                }
                Parameters params = Parameters.count(net);
                row.testAccuracy = accuracy(trainer, testSet);
                row.trainSeconds = Arrays.stream(steps).sum() / 1e9;
                row.stepMillis = steps.length == 0 ? null : Medians.of(steps) / 1e6;
                row.trainableParams = params.trainable();
                row.totalParams = params.all();
                row.backwardMflops = cost.mflops(method, net.namedModules());
                row.fullBackwardMflops = cost.fullMflops();
                row.basisCount = basisCount(method, lbp);
                row.energyKept = lbp == null ? null : meanEnergy(lbp);
            }
            if (o.save) {
                Path dir = o.modelsDir().resolve(Results.folderName(method.getName()));
                Path file = SavedModel.save(zm, recipe.lora, dir, o.model, data);
                System.out.printf(
                        Locale.ROOT,
                        "== %s: model saved to %s (Criteria argument weights=%s) ==%n",
                        method,
                        dir,
                        file);
            }
            row.method = method.getName();
            row.lossCurve = log.curve().points;
            System.out.printf(
                    Locale.ROOT,
                    "== %s: test accuracy %.2f%%, backward %.2f MFLOPs/image, %.1f ms/step ==%n",
                    method,
                    100 * row.testAccuracy,
                    row.backwardMflops,
                    row.stepMillis);
            return row;
        }
    }

    /**
     * Trains for the epochs, evaluating after each as {@code EasyTrain.fit} does, and times each
     * training step (batch and optimizer update) alone.
     *
     * @return each step's nanoseconds, in order
     */
    private double[] fit(
            Trainer trainer,
            RandomAccessDataset trainSet,
            RandomAccessDataset testSet,
            TrainingLog log)
            throws IOException, TranslateException {
        List<Double> steps = new ArrayList<>();
        for (int epoch = 1; epoch <= options.epochs; epoch++) {
            long epochNanos = 0;
            int batches = 0;
            for (Batch batch : trainer.iterateDataset(trainSet)) {
                long start = System.nanoTime();
                EasyTrain.trainBatch(trainer, batch);
                trainer.step();
                long nanos = System.nanoTime() - start;
                batch.close();
                steps.add((double) nanos);
                epochNanos += nanos;
                batches++;
            }
            System.out.printf(
                    Locale.ROOT,
                    "epoch %d: train loss %.4f, %.1f ms/step (mean of the training steps)%n",
                    epoch,
                    log.epochLoss(),
                    epochNanos / 1e6 / Math.max(1, batches));
            EasyTrain.evaluateDataset(trainer, testSet);
            trainer.notifyListeners(listener -> listener.onEpoch(trainer));
        }
        return steps.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private long steps(Splits data) {
        return (long) options.epochs * ((data.trainCount() + options.batch - 1) / options.batch);
    }

    /**
     * The number of bases k per 8x8 patch: the mean over the LBP layers for an LBP method (energy
     * methods choose per layer), the selection's for LoRA + LBP-WHT, 64 (full rank) for full
     * backprop and LoRA, none for the head alone (it trains no token-wise layer).
     */
    private static Double basisCount(Method method, LbpTrainingListener lbp) {
        if (method.getKind() == Method.Kind.HEAD) {
            return null;
        }
        if (method.usesLbp()) {
            return lbp.getLbpLayers().values().stream()
                    .mapToInt(l -> l.getConfig().getBasisCount())
                    .average()
                    .stream()
                    .boxed()
                    .findFirst()
                    .orElse(null);
        }
        return method.getKind() == Method.Kind.LORA_LBP
                ? (double) method.getSelection().count(8)
                : 64.0;
    }

    private static Double meanEnergy(LbpTrainingListener lbp) {
        return lbp.getLastEnergyKept().values().stream()
                .mapToDouble(Double::doubleValue)
                .average()
                .stream()
                .boxed()
                .findFirst()
                .orElse(null);
    }

    /** The zoo model, its head and input sized for the data, with the chosen weights. */
    private Criteria<NDList, NDList> criteria(Splits data) throws IOException {
        Adapt o = options;
        Criteria.Builder<NDList, NDList> cb =
                Criteria.builder()
                        .setTypes(NDList.class, NDList.class)
                        .optGroupId(VitModelZoo.GROUP_ID)
                        .optArtifactId(o.model)
                        .optEngine(o.engine)
                        .optArgument(VitModelLoader.ARG_NUM_CLASSES, data.classNames().size())
                        .optArgument(VitModelLoader.ARG_IN_CHANNELS, data.channels())
                        .optArgument(VitModelLoader.ARG_SEED, o.seed);
        if (o.weights != null) {
            cb.optArgument(VitModelLoader.ARG_WEIGHTS, Fetch.file(o.weights, o.cache).toString());
        } else if (!"none".equals(o.pretrained)) {
            cb.optArgument(VitModelLoader.ARG_PRETRAINED, o.pretrained);
        }
        return cb.build();
    }

    /** AdamW, a fixed or cosine learning rate, gradient clipping if asked. */
    private Optimizer optimizer(Splits data) {
        Adapt o = options;
        int totalSteps = (int) steps(data);
        Tracker schedule =
                o.cosine
                        ? CosineTracker.builder()
                                .setBaseValue(o.lr)
                                .optFinalValue(o.lr / 100)
                                .setMaxUpdates(totalSteps)
                                .build()
                        : Tracker.fixed(o.lr);
        AdamW.Builder ob =
                Optimizer.adamW().optLearningRateTracker(schedule).optWeightDecays(1e-5f);
        if (o.clipGrad > 0) {
            ob.optClipGrad(o.clipGrad);
        }
        return ob.build();
    }

    private static double accuracy(Trainer trainer, RandomAccessDataset test) throws Exception {
        long correct = 0;
        long n = 0;
        for (Batch b : trainer.iterateDataset(test)) {
            NDArray pred = trainer.evaluate(b.getData()).singletonOrThrow().argMax(1);
            NDArray label = b.getLabels().singletonOrThrow().toType(pred.getDataType(), false);
            correct += pred.eq(label).sum().getLong();
            n += label.size();
            b.close();
        }
        return (double) correct / n;
    }
}
