package io.github.lbpdjl.examples.bench;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.metric.Metrics;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import io.github.lbpdjl.examples.common.Method;
import io.github.lbpdjl.examples.common.Parameters;
import io.github.lbpdjl.examples.common.TrainedPart;
import io.github.lbpdjl.modules.TokenGrid;
import io.github.lbpdjl.nn.LbpLayer;
import io.github.lbpdjl.peft.LoraConfig;
import io.github.lbpdjl.peft.LoraLinear;
import io.github.lbpdjl.peft.LoraModel;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.training.LbpTrainingListener;
import io.github.lbpdjl.wht.TokenLayout;
import io.github.lbpdjl.zoo.vit.TimmModel;
import java.util.List;
import java.util.Locale;

/**
 * A zoo model with random weights, its trainer (AdamW) and a fixed batch of random images, for one
 * training setting: either the base model, for full backprop and LBP-WHT (LbpLinear with LBP-WHT
 * off is exactly Linear), or the LoRA model, for LoRA and LoRA + LBP-WHT (LoraLinear with its
 * LBP-WHT off is plain LoRA). Both start from the same seed.
 */
final class StepModel implements AutoCloseable {

    final TimmModel net;
    final Trainer trainer;
    final String summary;
    final long trainable;
    private final Model model;
    private final NDArray x;
    private final NDArray y;
    private final LbpTrainingListener lbp;
    private final LoraModel loraModel;

    /**
     * Builds the model of a setting.
     *
     * @param config the benchmark's settings
     * @param setting 'all', or the number of last blocks trained
     * @param useLora the LoRA model, else the base model
     * @param extra more training listeners, or null
     */
    StepModel(StepConfig config, String setting, boolean useLora, List<TrainingListener> extra) {
        int batch = config.batch();
        Engine.getEngine(config.engine()).setRandomSeed(1);
        net = TrainedPart.build(config.model());
        TrainedPart part = TrainedPart.of(config.model(), setting);
        TargetModules tokenwise = part.tokenwiseLayers();
        // one grid (ViT, EfficientFormer), or each layer's from the model (SwinV2's LayerGrids)
        TokenLayout layout = net instanceof TokenGrid ? TokenLayout.of((TokenGrid) net) : null;
        model = Model.newInstance(config.model() + (useLora ? "-lora" : ""), config.engine());
        model.setBlock(net);
        DefaultTrainingConfig cfg =
                new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                        .optOptimizer(
                                Optimizer.adamW()
                                        .optLearningRateTracker(Tracker.fixed(1e-5f))
                                        .build());
        if (extra != null) {
            extra.forEach(cfg::addTrainingListeners);
        }
        if (useLora) {
            lbp = null;
            net.initialize(model.getNDManager(), DataType.FLOAT32, net.getInputShape(batch));
            LoraConfig.Builder lc =
                    LoraConfig.builder()
                            .optRank(config.loraRank())
                            .optAlpha(2f * config.loraRank())
                            .optTargets(tokenwise)
                            .optExclude(part.loraExclusions(net))
                            .optModulesToSave(part.heads());
            if (config.loraLbp() != null) {
                lc.optLbp(config.loraLbp().lbpConfig(layout));
            }
            loraModel = lc.build().apply(model);
            trainer = model.newTrainer(cfg);
            loraModel.freeze(); // after newTrainer
        } else {
            loraModel = null;
            // LBP-WHT only where gradients are computed: the trained part's token-wise layers
            LbpTrainingListener.Builder lb =
                    LbpTrainingListener.builder()
                            .optRewriter(
                                    LbpRewriter.builder()
                                            .optTargets(tokenwise)
                                            .optLayout(layout)
                                            .build());
            if (!part.isAll()) {
                lb.optFrozen(TargetModules.regex(part.outsideRegex()));
            }
            lbp = lb.build();
            cfg.addTrainingListeners(lbp);
            trainer = model.newTrainer(cfg);
            trainer.initialize(net.getInputShape(batch));
        }
        trainer.setMetrics(new Metrics());
        trainable = Parameters.count(model.getBlock()).trainable();
        summary =
                String.format(
                        Locale.ROOT,
                        "%s model: %,d trainable parameters",
                        useLora ? "LoRA" : "base",
                        trainable);
        NDManager data = trainer.getManager();
        x = data.randomNormal(net.getInputShape(batch));
        y = data.randomInteger(0, net.getNumClasses(), new Shape(batch), DataType.INT32);
    }

    /**
     * Prepares a method (LBP-WHT on or off, its bases) and runs one training step.
     *
     * @param m a method of this model: full or LBP-WHT for the base model, LoRA for the LoRA one
     * @return the step's wall time in ms
     */
    double step(Method m) {
        if (m.usesLora()) {
            for (LoraLinear l : loraModel.getLayers().values()) {
                l.setLbpEnabled(m.getKind() == Method.Kind.LORA_LBP);
            }
        } else {
            // each layer keeps its own layout (a 1x1 convolution's is its feature map)
            for (LbpLayer l : lbp.getLbpLayers().values()) {
                l.setLbpEnabled(m.getSelection() != null);
                if (m.getSelection() != null) {
                    l.setConfig(l.getConfig().toBuilder().optSelection(m.getSelection()).build());
                }
            }
        }
        try (NDManager sub = trainer.getManager().newSubManager()) {
            NDArray in = x.duplicate();
            NDArray label = y.duplicate();
            in.attach(sub);
            label.attach(sub);
            Batch b = new Batch(sub, new NDList(in), new NDList(label), 1, null, null, 0, 1);
            long t0 = System.nanoTime();
            EasyTrain.trainBatch(trainer, b);
            trainer.step();
            waitForUpdates();
            return (System.nanoTime() - t0) / 1e6;
        }
    }

    /**
     * Reads one value of every trained parameter: waits for asynchronous engines (MXNet) to finish
     * the update.
     */
    private void waitForUpdates() {
        for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
            if (p.getValue().requiresGradient()) {
                NDArray a = p.getValue().getArray();
                try (NDArray flat = a.reshape(-1);
                        NDArray first = flat.get(0)) {
                    first.getFloat();
                }
            }
        }
    }

    @Override
    public void close() {
        trainer.close();
        model.close();
    }
}
