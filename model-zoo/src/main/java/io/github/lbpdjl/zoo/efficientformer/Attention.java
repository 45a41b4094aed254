package io.github.lbpdjl.zoo.efficientformer;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.ConstantInitializer;
import ai.djl.util.PairList;
import io.github.lbpdjl.ndarray.Intermediates;
import io.github.lbpdjl.ndarray.Scalars;
import io.github.lbpdjl.zoo.vit.TimmBlock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * EfficientFormer's attention as timm's {@code efficientformer.Attention}, on (B, N, C) tokens of
 * an h x w grid (N = h w): 8 heads, keys and queries of 32 channels, values of 128 ({@code
 * attn_ratio} 4); {@code softmax(q k^T / sqrt(32) + b)} with a learned bias per head and relative
 * position, then {@code proj} back to C.
 *
 * <p>The {@code qkv} Linear gives, per token and head, that head's query, key and value next to
 * each other ({@code reshape(B, N, heads, -1)}, then split 32 / 32 / 128). The bias of query i and
 * key j is {@code attention_biases[head, |r_i - r_j| * w + |c_i - c_j|]} for their grid rows r and
 * columns c: timm's {@code attention_bias_idxs}, which is a buffer there and a constant here,
 * computed from the grid.
 *
 * <p>Children (timm names): {@code qkv}, {@code proj}; parameter {@code attention_biases} (heads, h
 * w), initialised to zero.
 */
public class Attention extends TimmBlock {

    /** Heads, as timm's EfficientFormer (not configurable there). */
    public static final int NUM_HEADS = 8;

    /** Channels of a query or key per head. */
    public static final int KEY_DIM = 32;

    /** Channels of a value per head: {@code attn_ratio} 4 times the key's. */
    public static final int VAL_DIM = 4 * KEY_DIM;

    private final int dim;
    private final int gridHeight;
    private final int gridWidth;
    private final float scale;
    private final Parameter attentionBiases;
    private final Map<Device, NDArray> biasIndex = new ConcurrentHashMap<>();

    /**
     * Creates the attention block.
     *
     * @param dim the channels C
     * @param gridHeight the token grid's height h
     * @param gridWidth the token grid's width w
     */
    public Attention(int dim, int gridHeight, int gridWidth) {
        if (dim < 1 || gridHeight < 1 || gridWidth < 1) {
            throw new IllegalArgumentException(
                    "dim and grid must be >= 1, got dim="
                            + dim
                            + ", grid "
                            + gridHeight
                            + "x"
                            + gridWidth);
        }
        this.dim = dim;
        this.gridHeight = gridHeight;
        this.gridWidth = gridWidth;
        this.scale = (float) Math.pow(KEY_DIM, -0.5);
        attentionBiases =
                addParameter(
                        Parameter.builder()
                                .setName("attention_biases")
                                .setType(Parameter.Type.OTHER)
                                .optShape(new Shape(NUM_HEADS, (long) gridHeight * gridWidth))
                                .optInitializer(new ConstantInitializer(0))
                                .build());
        addTimmChild(
                "qkv", Linear.builder().setUnits(NUM_HEADS * (2L * KEY_DIM + VAL_DIM)).build());
        addTimmChild("proj", Linear.builder().setUnits(dim).build());
    }

    /**
     * Returns timm's {@code attention_bias_idxs} for a grid: entry (i, j) is {@code |r_i - r_j| * w
     * + |c_i - c_j|} for tokens i and j at rows r and columns c.
     *
     * @param gridHeight the grid's height h
     * @param gridWidth the grid's width w
     * @return the (h w) x (h w) indices, row-major
     */
    public static long[] relativePositionIndex(int gridHeight, int gridWidth) {
        int n = gridHeight * gridWidth;
        long[] idx = new long[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                int dr = Math.abs(i / gridWidth - j / gridWidth);
                int dc = Math.abs(i % gridWidth - j % gridWidth);
                idx[i * n + j] = (long) dr * gridWidth + dc;
            }
        }
        return idx;
    }

    /**
     * @return the token grid {h, w} the attention biases are for
     */
    public int[] getGridSize() {
        return new int[] {gridHeight, gridWidth};
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
        long n = (long) gridHeight * gridWidth;
        if (s.dimension() != 3 || s.get(1) != n || s.get(2) != dim) {
            throw new IllegalArgumentException(
                    "attention expects tokens (B, "
                            + n
                            + ", "
                            + dim
                            + ") of a "
                            + gridHeight
                            + "x"
                            + gridWidth
                            + " grid, got "
                            + s);
        }
        long b = s.get(0);
        NDManager m = x.getManager();
        NDArray qkv = forwardChild(0, parameterStore, x, training, params);
        NDArray perHead = qkv.reshape(b, n, NUM_HEADS, 2L * KEY_DIM + VAL_DIM);
        NDArray heads = perHead.transpose(0, 2, 1, 3);
        NDList qkvParts = heads.split(new long[] {KEY_DIM, 2L * KEY_DIM}, 3);
        NDArray q = qkvParts.get(0);
        NDArray k = qkvParts.get(1);
        NDArray v = qkvParts.get(2);
        NDArray kT = k.transpose(0, 1, 3, 2);
        NDArray scores = q.matMul(kT);
        NDArray scaled = Scalars.mul(scores, scale);
        // the bias table, copied into the batch's manager (an op's result goes to its first
        // operand's manager), then gathered per head and relative position
        NDArray biases = parameterStore.getValue(attentionBiases, x.getDevice(), training);
        NDArray zeros = m.zeros(biases.getShape(), biases.getDataType(), x.getDevice());
        NDArray table = zeros.add(biases);
        NDArray gathered = table.take(m, biasIndex(biases));
        NDArray bias = gathered.reshape(NUM_HEADS, n, n);
        NDArray biased = scaled.add(bias);
        NDArray attn = biased.softmax(-1);
        NDArray weighted = attn.matMul(v);
        NDArray merged = weighted.transpose(0, 2, 1, 3);
        NDArray out = merged.reshape(b, n, (long) NUM_HEADS * VAL_DIM);
        NDList y = child(1).forward(parameterStore, new NDList(out), training, params);
        NDList consumed =
                new NDList(qkv, perHead, heads, kT, scores, scaled, zeros, table, gathered, bias);
        consumed.addAll(qkvParts);
        consumed.addAll(new NDList(biased, attn, weighted, merged, out));
        Intermediates.releaseAll(consumed, inputs, y);
        return y;
    }

    /**
     * The flat gather index {@code head * h w + attention_bias_idxs}, (heads h w h w), made once
     * per device in the parameters' manager (engine memory, kept with the model).
     */
    private NDArray biasIndex(NDArray biases) {
        NDArray idx = biasIndex.get(biases.getDevice());
        if (idx != null && !idx.isReleased()) {
            return idx;
        }
        synchronized (biasIndex) {
            idx = biasIndex.get(biases.getDevice());
            if (idx == null || idx.isReleased()) {
                long[] rel = relativePositionIndex(gridHeight, gridWidth);
                long r = (long) gridHeight * gridWidth;
                long[] flat = new long[NUM_HEADS * rel.length];
                for (int h = 0; h < NUM_HEADS; h++) {
                    for (int i = 0; i < rel.length; i++) {
                        flat[h * rel.length + i] = h * r + rel[i];
                    }
                }
                // duplicate(): engine-owned memory, not the Java buffer create() may point into
                try (NDArray fromJava = biases.getManager().create(flat)) {
                    idx = fromJava.duplicate();
                }
                biasIndex.put(biases.getDevice(), idx);
            }
            return idx;
        }
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
        Shape in = inputShapes[0];
        child(0).initialize(manager, dataType, in);
        child(1).initialize(
                        manager,
                        dataType,
                        new Shape(in.get(0), in.get(1), (long) NUM_HEADS * VAL_DIM));
    }
}
