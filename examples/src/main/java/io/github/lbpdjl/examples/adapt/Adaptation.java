package io.github.lbpdjl.examples.adapt;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.metric.Metrics;
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
import com.google.gson.JsonParser;
import io.github.lbpdjl.checkpoint.ResumableAdamW;
import io.github.lbpdjl.examples.common.Medians;
import io.github.lbpdjl.examples.common.Method;
import io.github.lbpdjl.examples.common.Parameters;
import io.github.lbpdjl.examples.common.RssSampler;
import io.github.lbpdjl.examples.common.TestAccuracy;
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
    private final TrainedPart part;
    private final TokenwiseCost cost;

    /**
     * Creates a run with the program's options and counts the trained part's backward cost once for
     * every method (on a model of its own, before any method seeds the engine).
     *
     * @param options the options (model, weights, recipe, engine, seed)
     */
    Adaptation(Adapt options) {
        this.options = options;
        this.part = TrainedPart.of(options.model, options.trainBlocks);
        this.cost = TokenwiseCost.of(options.model, part, options.engine);
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
            Recipe recipe = Recipe.apply(zm, method, part, o.energyEvery);
            LbpTrainingListener lbp = recipe.listener;
            TrainingLog log = new TrainingLog(TrainingLog.isTerminal());
            Optimizer optimizer = optimizer(data);
            DefaultTrainingConfig cfg =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            // the chosen engine's devices: DJL's default asks the default
                            // engine, which starts MXNet (with its natives) beside PyTorch
                            .optDevices(Engine.getEngine(o.engine).getDevices())
                            .optOptimizer(optimizer)
                            .addEvaluator(new Accuracy())
                            .addTrainingListeners(TrainingListener.Defaults.basic())
                            .addTrainingListeners(log);
            if (lbp != null) {
                cfg.addTrainingListeners(lbp);
            }
            Checkpoints ck = null;
            if (optimizer instanceof ResumableAdamW adamW) {
                MethodCheckpoint store = MethodCheckpoint.of(o.checkpointsDir(), method.getName());
                ck = new Checkpoints(store, store.read(), zm, adamW, lbp, log);
            }
            RssSampler rss = o.isolatedChild ? new RssSampler() : null;
            Row row = new Row();
            try (Trainer trainer = zm.newTrainer(cfg);
                    NDManager dm = trainer.getManager().newSubManager();
                    AutoCloseable state = optimizer instanceof AutoCloseable c ? c : () -> {}) {
                // DJL logs loss and accuracy per epoch only with metrics
                trainer.setMetrics(new Metrics());
                recipe.prepare(zm);
                if (ck != null && ck.resumed != null) {
                    // the block as saved: the method applied, LBP-WHT layers rewritten by
                    // newTrainer
                    ck.store.loadWeights(zm);
                }
                trainer.initialize(net.getInputShape(o.batch));
                if (ck != null && ck.resumed != null) {
                    ck.store.loadState(zm, ck.optimizer, lbp);
                    log.restore(ck.resumed.log);
                }
                RandomAccessDataset trainSet = data.train(dm, o.batch);
                RandomAccessDataset testSet = data.test(dm, o.batch);
                System.out.printf(
                        Locale.ROOT,
                        "%n== %s: training %s ==%n",
                        method,
                        method.getKind() == Method.Kind.HEAD ? "the head only" : part.describe());
                if (ck != null && ck.resumed != null) {
                    System.out.printf(
                            Locale.ROOT,
                            "== %s: continuing from its checkpoint at step %d (epoch %d, step %d"
                                    + " of the epoch) in %s ==%n",
                            method,
                            ck.resumed.step,
                            ck.resumed.epoch,
                            ck.resumed.epochStep,
                            ck.store.dir());
                }
                if (rss != null) {
                    rss.start();
                }
                double[] steps = fit(trainer, trainSet, testSet, log, ck);
                if (rss != null) {
                    rss.stop();
                    row.peakRssMb = rss.peakMb();
                }
                Parameters params = Parameters.count(net);
                row.testAccuracy = TestAccuracy.of(trainer, testSet);
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
     * training step (batch and optimizer update) alone. With checkpoints, saves one every N steps;
     * resuming from one, loads the batches of the steps it holds without training on them, so that
     * the shuffling and any random augmentation draw as they did, and continues after them.
     *
     * @param ck the checkpoints, or null
     * @return each step's nanoseconds, in order
     */
    private double[] fit(
            Trainer trainer,
            RandomAccessDataset trainSet,
            RandomAccessDataset testSet,
            TrainingLog log,
            Checkpoints ck)
            throws IOException, TranslateException {
        MethodCheckpoint.Progress resumed = ck == null ? null : ck.resumed;
        long done = resumed == null ? 0 : resumed.step;
        List<Double> steps = resumed == null ? new ArrayList<>() : resumed.stepNanos;
        long step = 0;
        for (int epoch = 1; epoch <= options.epochs; epoch++) {
            long epochNanos = 0;
            int batches = 0;
            for (Batch batch : trainer.iterateDataset(trainSet)) {
                step++;
                batches++;
                if (step <= done) { // trained before the checkpoint: loaded only
                    batch.close();
                    if (step == done) {
                        epochNanos = resumed.epochNanos;
                    }
                    continue;
                }
                long start = System.nanoTime();
                EasyTrain.trainBatch(trainer, batch);
                trainer.step();
                long nanos = System.nanoTime() - start;
                batch.close();
                steps.add((double) nanos);
                epochNanos += nanos;
                if (ck != null && step % options.checkpointEvery == 0) {
                    ck.save(step, epoch, batches, steps, epochNanos);
                }
            }
            if (step < done) { // finished, evaluated and reported before the checkpoint
                continue;
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

    /** A method's checkpoints: where, the one resumed from, and what a save holds. */
    private static final class Checkpoints {
        final MethodCheckpoint store;
        final MethodCheckpoint.Progress resumed;
        final Model model;
        final ResumableAdamW optimizer;
        final LbpTrainingListener listener;
        final TrainingLog log;

        Checkpoints(
                MethodCheckpoint store,
                MethodCheckpoint.Progress resumed,
                Model model,
                ResumableAdamW optimizer,
                LbpTrainingListener listener,
                TrainingLog log) {
            this.store = store;
            this.resumed = resumed;
            this.model = model;
            this.optimizer = optimizer;
            this.listener = listener;
            this.log = log;
        }

        /**
         * Saves the state after a step, unless an energy-adaptive selection is still measuring: its
         * measurements are not part of the listener's state, so the next checkpoint waits.
         */
        void save(long step, int epoch, int epochStep, List<Double> steps, long epochNanos)
                throws IOException {
            if (listener != null
                    && JsonParser.parseString(listener.getState())
                            .getAsJsonObject()
                            .get("calibrating")
                            .getAsBoolean()) {
                return;
            }
            MethodCheckpoint.Progress p = new MethodCheckpoint.Progress();
            p.step = step;
            p.epoch = epoch;
            p.epochStep = epochStep;
            p.stepNanos = new ArrayList<>(steps);
            p.epochNanos = epochNanos;
            p.log = log.state();
            store.save(model, optimizer, listener, p);
            System.out.printf(
                    Locale.ROOT,
                    "checkpoint at step %d (epoch %d, step %d of the epoch) saved%n",
                    step,
                    epoch,
                    epochStep);
        }
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

    /**
     * AdamW, a fixed or cosine learning rate, gradient clipping if asked: DJL's, or with
     * checkpoints the library's {@link ResumableAdamW}, whose state a checkpoint holds.
     */
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
        if (o.checkpointEvery > 0) {
            // the same AdamW, its state savable
            ResumableAdamW.Builder rb =
                    ResumableAdamW.builder()
                            .optLearningRateTracker(schedule)
                            .optWeightDecays(1e-5f);
            if (o.clipGrad > 0) {
                rb.optClipGrad(o.clipGrad);
            }
            return rb.build();
        }
        AdamW.Builder ob =
                Optimizer.adamW().optLearningRateTracker(schedule).optWeightDecays(1e-5f);
        if (o.clipGrad > 0) {
            ob.optClipGrad(o.clipGrad);
        }
        return ob.build();
    }
}
