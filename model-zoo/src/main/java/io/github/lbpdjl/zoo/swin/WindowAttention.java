package io.github.lbpdjl.zoo.swin;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.ConstantInitializer;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.ndarray.Scalars;
import io.github.lbpdjl.zoo.vit.TimmBlock;
import io.github.lbpdjl.zoo.vit.TimmSequential;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * SwinV2's window attention as timm's {@code WindowAttention}, on (B * windows, wh ww, C) tokens,
 * each row of windows a wh x ww window of the (shifted) map:
 *
 * <ul>
 *   <li>{@code qkv} (Linear C -> 3C, no bias) plus the bias {@code (q_bias, 0, v_bias)};
 *   <li>scaled cosine attention: {@code normalize(q) normalize(k)^T * exp(min(logit_scale, log
 *       100))} per head;
 *   <li>the continuous relative position bias: {@code cpb_mlp} (Linear 2 -> 512, ReLU, Linear 512
 *       -> heads without bias) over the log-spaced relative coordinates table, gathered by the
 *       relative position index, {@code 16 sigmoid(.)};
 *   <li>in a shifted block, the attention mask (-100 between tokens from different regions of the
 *       rolled map), then softmax, the values and {@code proj} (Linear C -> C).
 * </ul>
 *
 * <p>Parameters (timm names): {@code logit_scale} (heads, 1, 1), {@code q_bias}, {@code v_bias}
 * (C); children {@code cpb_mlp} ({@code 0}, {@code 1} the ReLU, {@code 2}), {@code qkv}, {@code
 * proj}. timm's buffers {@code k_bias} (zeros), {@code relative_coords_table} and {@code
 * relative_position_index} (and the block's {@code attn_mask}) are constants computed here.
 */
public class WindowAttention extends TimmBlock {

    /** Hidden width of timm's {@code cpb_mlp}. */
    public static final int CPB_HIDDEN = 512;

    private static final float MAX_LOGIT_SCALE = (float) Math.log(100);

    private final int dim;
    private final int numHeads;
    private final int windowHeight;
    private final int windowWidth;
    private final float[] mask;
    private final int maskWindows;
    private final Parameter logitScale;
    private final Parameter qBias;
    private final Parameter vBias;
    private final Map<Device, NDArray> maskArrays = new ConcurrentHashMap<>();
    private final Map<Device, NDArray> indexArrays = new ConcurrentHashMap<>();

    /**
     * Creates the attention of one block.
     *
     * @param dim the channels C
     * @param numHeads the heads (dividing C)
     * @param window the window {wh, ww}, each at least 2
     * @param grid the block's map {H, W}, multiples of the window
     * @param shift the block's cyclic shift {sh, sw}; {0, 0} for none (no mask)
     */
    public WindowAttention(int dim, int numHeads, int[] window, int[] grid, int[] shift) {
        if (numHeads < 1 || dim % numHeads != 0) {
            throw new IllegalArgumentException(
                    "heads must divide the channels, got dim=" + dim + ", heads=" + numHeads);
        }
        if (window[0] < 2 || window[1] < 2) {
            throw new IllegalArgumentException(
                    "window must be at least 2x2, got " + window[0] + "x" + window[1]);
        }
        this.dim = dim;
        this.numHeads = numHeads;
        this.windowHeight = window[0];
        this.windowWidth = window[1];
        boolean shifted = shift[0] != 0 || shift[1] != 0;
        this.mask =
                shifted
                        ? SwinOps.attentionMask(
                                grid[0], grid[1], window[0], window[1], shift[0], shift[1])
                        : null;
        this.maskWindows = (grid[0] / window[0]) * (grid[1] / window[1]);
        logitScale =
                addParameter(
                        Parameter.builder()
                                .setName("logit_scale")
                                .setType(Parameter.Type.OTHER)
                                .optShape(new Shape(numHeads, 1, 1))
                                .optInitializer(new ConstantInitializer((float) Math.log(10)))
                                .build());
        qBias = addParameter(bias("q_bias", dim));
        vBias = addParameter(bias("v_bias", dim));
        addTimmChild(
                "cpb_mlp",
                new TimmSequential(
                        List.of(
                                Linear.builder().setUnits(CPB_HIDDEN).build(),
                                Activation.reluBlock(),
                                Linear.builder().setUnits(numHeads).optBias(false).build())));
        addTimmChild("qkv", Linear.builder().setUnits(3L * dim).optBias(false).build());
        addTimmChild("proj", Linear.builder().setUnits(dim).build());
    }

    private static Parameter bias(String name, int dim) {
        return Parameter.builder()
                .setName(name)
                .setType(Parameter.Type.BIAS)
                .optShape(new Shape(dim))
                .optInitializer(new ConstantInitializer(0))
                .build();
    }

    /**
     * @return the window {wh, ww}
     */
    public int[] getWindowSize() {
        return new int[] {windowHeight, windowWidth};
    }

    /**
     * @return the number of heads
     */
    public int getNumHeads() {
        return numHeads;
    }

    /**
     * @return whether the block is shifted (the attention is masked)
     */
    public boolean isMasked() {
        return mask != null;
    }

    /** {@inheritDoc} */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        Shape s = x.getShape();
        long n = (long) windowHeight * windowWidth;
        if (s.dimension() != 3 || s.get(1) != n || s.get(2) != dim) {
            throw new IllegalArgumentException(
                    "window attention expects (B * windows, "
                            + n
                            + ", "
                            + dim
                            + ") for "
                            + windowHeight
                            + "x"
                            + windowWidth
                            + " windows, got "
                            + s);
        }
        long b = s.get(0);
        long hd = dim / numHeads;
        NDManager m = x.getManager();
        Device device = x.getDevice();
        NDList consumed = new NDList();

        // qkv with the bias (q_bias, 0, v_bias)
        NDArray qkvW = forwardChild(1, parameterStore, x, training, params);
        NDArray qb = parameterStore.getValue(qBias, device, training);
        NDArray vb = parameterStore.getValue(vBias, device, training);
        NDArray kb = m.zeros(qb.getShape(), qb.getDataType(), device);
        NDArray qkvBias =
                NDArrays.concat(new NDList(local(qb, m, consumed), kb, local(vb, m, consumed)));
        NDArray qkv = qkvW.add(qkvBias);
        consumed.addAll(new NDList(qkvW, kb, qkvBias, qkv));
        NDArray split = qkv.reshape(b, n, 3, numHeads, hd);
        NDArray perHead = split.transpose(2, 0, 3, 1, 4);
        NDList parts = perHead.split(3, 0);
        consumed.addAll(new NDList(split, perHead));
        consumed.addAll(parts);
        NDArray q = parts.get(0).reshape(b, numHeads, n, hd);
        NDArray k = parts.get(1).reshape(b, numHeads, n, hd);
        NDArray v = parts.get(2).reshape(b, numHeads, n, hd);
        consumed.addAll(new NDList(q, k, v));

        // cosine similarity times the clamped, exponentiated logit scale
        NDArray qn = normalize(q, consumed);
        NDArray kn = normalize(k, consumed);
        NDArray kT = kn.transpose(0, 1, 3, 2);
        NDArray cos = qn.matMul(kT);
        NDArray scaleParam =
                local(parameterStore.getValue(logitScale, device, training), m, consumed);
        NDArray clamped = scaleParam.minimum(SwinOps.scalar(m, MAX_LOGIT_SCALE, x));
        NDArray scale = clamped.exp();
        NDArray attn = cos.mul(scale);
        consumed.addAll(new NDList(kT, cos, clamped, scale, attn));

        // continuous relative position bias
        NDArray bias = positionBias(parameterStore, m, x, training, params, consumed);
        NDArray biased = attn.add(bias);
        consumed.add(biased);
        NDArray logits = biased;
        if (mask != null) {
            NDArray grouped = biased.reshape(-1, maskWindows, numHeads, n, n);
            NDArray masked = grouped.add(mask(device));
            logits = masked.reshape(b, numHeads, n, n);
            consumed.addAll(new NDList(grouped, masked, logits));
        }
        NDArray probs = logits.softmax(-1);
        NDArray weighted = probs.matMul(v);
        NDArray merged = weighted.transpose(0, 2, 1, 3);
        NDArray out = merged.reshape(b, n, dim);
        consumed.addAll(new NDList(probs, weighted, merged, out));
        NDList y = child(2).forward(parameterStore, new NDList(out), training, params);
        Intermediates.releaseAll(consumed, inputs, y);
        return y;
    }

    /** The mask (windows, 1, N, N), made once per device in the parameters' manager. */
    private NDArray mask(Device device) {
        long n = (long) windowHeight * windowWidth;
        return constant(device, "mask", () -> mask, new Shape(maskWindows, 1, n, n));
    }

    /**
     * The flat gather index {@code head * T + relative_position_index} into the (heads, T) bias
     * table, T = (2wh-1)(2ww-1), made once per device in the parameters' manager.
     */
    private NDArray biasIndex(Device device) {
        long[] rel = SwinOps.relativePositionIndex(windowHeight, windowWidth);
        long t = (2L * windowHeight - 1) * (2L * windowWidth - 1);
        return constant(
                device,
                "index",
                () -> {
                    long[] flat = new long[numHeads * rel.length];
                    for (int h = 0; h < numHeads; h++) {
                        for (int i = 0; i < rel.length; i++) {
                            flat[h * rel.length + i] = h * t + rel[i];
                        }
                    }
                    return flat;
                },
                new Shape(numHeads * (long) rel.length));
    }

    private NDArray constant(Device device, String what, Supplier<Object> data, Shape shape) {
        Map<Device, NDArray> cache = "mask".equals(what) ? maskArrays : indexArrays;
        NDArray a = cache.get(device);
        if (a != null && !a.isReleased()) {
            return a;
        }
        synchronized (cache) {
            a = cache.get(device);
            if (a == null || a.isReleased()) {
                NDManager owner = logitScale.getArray().getManager();
                Object d = data.get();
                // duplicate(): engine-owned memory, not the Java buffer create() may point into
                try (NDArray fromJava =
                        d instanceof float[]
                                ? owner.create((float[]) d, shape)
                                : owner.create((long[]) d, shape)) {
                    a = fromJava.duplicate();
                }
                cache.put(device, a);
            }
            return a;
        }
    }

    /** {@code F.normalize(x, dim=-1)}: x / max(||x||, 1e-12). */
    private static NDArray normalize(NDArray x, NDList consumed) {
        NDArray sq = x.square();
        NDArray sum = sq.sum(new int[] {-1}, true);
        NDArray norm = sum.sqrt();
        NDArray clamped = norm.maximum(SwinOps.scalar(x.getManager(), 1e-12f, x));
        NDArray y = x.div(clamped);
        consumed.addAll(new NDList(sq, sum, norm, clamped, y));
        return y;
    }

    /** A parameter's value as an array of the batch's manager (its gradient flows back). */
    private static NDArray local(NDArray param, NDManager m, NDList consumed) {
        NDArray zeros = m.zeros(param.getShape(), param.getDataType(), param.getDevice());
        NDArray y = zeros.add(param);
        consumed.add(zeros);
        consumed.add(y);
        return y;
    }

    /** (heads, N, N): 16 sigmoid(cpb_mlp(table)) gathered by the relative position index. */
    private NDArray positionBias(
            ParameterStore parameterStore,
            NDManager m,
            NDArray x,
            boolean training,
            PairList<String, Object> params,
            NDList consumed) {
        int rows = 2 * windowHeight - 1;
        int cols = 2 * windowWidth - 1;
        long n = (long) windowHeight * windowWidth;
        NDArray table;
        // made from Java data in the batch's manager, copied into engine memory
        try (NDArray fromJava =
                m.create(
                        SwinOps.relativeCoordsTable(windowHeight, windowWidth),
                        new Shape(1, rows, cols, 2))) {
            table = fromJava.duplicate();
        }
        NDArray cpb = forwardChild(0, parameterStore, table, training, params);
        NDArray flat = cpb.reshape((long) rows * cols, numHeads);
        NDArray perHead = flat.transpose(1, 0);
        NDArray gathered = perHead.take(m, biasIndex(x.getDevice()));
        NDArray bias = gathered.reshape(numHeads, n, n);
        NDArray sig = Activation.sigmoid(bias);
        consumed.addAll(new NDList(table, cpb, flat, perHead, gathered, bias, sig));
        NDArray y = Scalars.mul(sig, 16);
        consumed.add(y);
        return y;
    }

    /** {@inheritDoc} */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    /** {@inheritDoc} */
    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        child(0).initialize(
                        manager,
                        dataType,
                        new Shape(1, 2L * windowHeight - 1, 2L * windowWidth - 1, 2));
        child(1).initialize(manager, dataType, inputShapes[0]);
        child(2).initialize(manager, dataType, inputShapes[0]);
    }
}
