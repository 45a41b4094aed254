package io.github.lbpdjl.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.ParameterTracker;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import io.github.lbpdjl.engine.LbpEngines;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * AdamW (decoupled weight decay, Loshchilov and Hutter) whose state, the two moments and the step
 * count of every parameter, can be written and read back, so that a resumed run continues exactly.
 * DJL's own optimizers keep their state private.
 *
 * <p>Per parameter with gradient g at its step t: {@code m = b1 m + (1 - b1) g}, {@code v = b2 v +
 * (1 - b2) g^2}, {@code w -= lr (m / (1 - b1^t) / (sqrt(v / (1 - b2^t)) + eps) + wd w)}, with
 * {@code lr} from the tracker at the optimizer's update count (the learning rate scales the decay
 * too, as in PyTorch's AdamW). The state is kept in the optimizer's own manager; {@link #close()}
 * frees it. State files name parameters by their path in the block (e.g. {@code
 * 02blocks_010_02attn_01qkv_weight}), not by their random ids, so a fresh model of the same
 * architecture can load them.
 */
public final class ResumableAdamW extends Optimizer implements AutoCloseable {

    private final ParameterTracker learningRate;
    private final float beta1;
    private final float beta2;
    private final float epsilon;
    private final Map<String, NDArray> means = new ConcurrentHashMap<>();
    private final Map<String, NDArray> variances = new ConcurrentHashMap<>();
    private final Map<String, Integer> steps = new ConcurrentHashMap<>();
    private int updates;
    private NDManager manager;

    private ResumableAdamW(Builder b) {
        super(b);
        this.learningRate = b.learningRate;
        this.beta1 = b.beta1;
        this.beta2 = b.beta2;
        this.epsilon = b.epsilon;
    }

    /**
     * Creates a builder (defaults as DJL's AdamW: lr 0.001, betas 0.9 and 0.999, eps 1e-8, weight
     * decay 0.01).
     *
     * @return a builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** {@inheritDoc} */
    @Override
    public void update(String parameterId, NDArray weight, NDArray grad) {
        int t = steps.merge(parameterId, 1, Integer::sum);
        int count;
        synchronized (this) {
            updates = Math.max(updates, t);
            count = updates;
        }
        float lr = learningRate.getNewValue(parameterId, count);
        float wd = getWeightDecay();
        NDArray m = means.computeIfAbsent(parameterId, k -> zeros(weight));
        NDArray v = variances.computeIfAbsent(parameterId, k -> zeros(weight));
        try (NDScope scope = new NDScope()) { // every temporary below; no autograd here
            NDArray g = rescaleGrad == 1f ? grad : grad.mul(rescaleGrad);
            if (clipGrad > 0) {
                g = g.clip(-clipGrad, clipGrad);
            }
            m.muli(beta1).addi(g.mul(1 - beta1));
            v.muli(beta2).addi(g.square().mul(1 - beta2));
            double c1 = 1 - Math.pow(beta1, t);
            double c2 = 1 - Math.pow(beta2, t);
            NDArray step = m.div(c1).div(v.div(c2).sqrt().add(epsilon));
            if (wd != 0) {
                step = step.add(weight.mul(wd));
            }
            weight.subi(step.mul(lr));
        }
        // PyTorch adds each backward to the gradient; DJL's own optimizers clear it here too
        LbpEngines.forEngine(weight.getManager().getEngine().getEngineName()).clearGradient(weight);
    }

    private synchronized NDArray zeros(NDArray like) {
        if (manager == null) {
            manager = like.getManager().getEngine().newBaseManager(like.getDevice());
        }
        return manager.zeros(like.getShape(), like.getDataType());
    }

    /**
     * Writes the state: for every parameter of {@code block} that has been updated, its two moments
     * and its step count, named by the parameter's path. DJL's NDList encoding.
     *
     * @param block the block whose parameters this optimizer updates
     * @param out where to write; not closed
     * @throws IOException if writing fails
     */
    public void saveState(Block block, OutputStream out) throws IOException {
        NDList list = new NDList();
        if (manager == null) { // no update yet: an empty state
            list.encode(out);
            return;
        }
        try (NDManager tmp = manager.newSubManager()) {
            for (Pair<String, Parameter> p : block.getParameters()) {
                String id = p.getValue().getId();
                if (!steps.containsKey(id)) {
                    continue;
                }
                NDArray m = means.get(id).duplicate();
                NDArray v = variances.get(id).duplicate();
                NDArray t = tmp.create(new int[] {steps.get(id)});
                m.setName(p.getKey() + ".m");
                v.setName(p.getKey() + ".v");
                t.setName(p.getKey() + ".t");
                m.attach(tmp);
                v.attach(tmp);
                list.add(m);
                list.add(v);
                list.add(t);
            }
            NDArray u = tmp.create(new int[] {updates});
            u.setName("updates");
            list.add(u);
            list.encode(out);
        }
    }

    /**
     * Reads a state written by {@link #saveState} for a block of the same architecture, replacing
     * this optimizer's state.
     *
     * @param block the block whose parameters this optimizer updates
     * @param manager any manager of the engine to read with (used for the decoding only)
     * @param in the encoded state; not closed
     * @throws IOException if reading fails
     * @throws IllegalArgumentException if the state names a parameter the block does not have, or a
     *     moment's shape differs from its parameter's
     */
    public void loadState(Block block, NDManager manager, InputStream in) throws IOException {
        Map<String, Parameter> byPath = new HashMap<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            byPath.put(p.getKey(), p.getValue());
        }
        try (NDManager tmp = manager.newSubManager()) {
            NDList list;
            try {
                list = NDList.decode(tmp, in);
            } catch (RuntimeException e) {
                throw new IOException(
                        "optimizer state: not a DJL NDList encoding (" + e.getMessage() + ")", e);
            }
            Map<String, NDArray> named = new HashMap<>();
            for (NDArray a : list) {
                named.put(a.getName(), a);
            }
            NDArray u = named.remove("updates");
            Map<String, NDArray[]> loaded = new HashMap<>();
            for (Map.Entry<String, NDArray> e : named.entrySet()) {
                String key = e.getKey();
                int dot = key == null ? -1 : key.lastIndexOf('.');
                String path = dot < 0 ? key : key.substring(0, dot);
                Parameter param = byPath.get(path);
                if (param == null) {
                    throw new IllegalArgumentException(
                            "optimizer state names '"
                                    + key
                                    + "', but the block has no parameter '"
                                    + path
                                    + "'");
                }
                int slot =
                        "m".equals(key.substring(dot + 1))
                                ? 0
                                : "v".equals(key.substring(dot + 1)) ? 1 : 2;
                NDArray a = e.getValue();
                if (slot < 2 && !a.getShape().equals(param.getArray().getShape())) {
                    throw new IllegalArgumentException(
                            "optimizer state: '"
                                    + key
                                    + "' has shape "
                                    + a.getShape()
                                    + ", the parameter has "
                                    + param.getArray().getShape());
                }
                loaded.computeIfAbsent(path, k -> new NDArray[3])[slot] = a;
            }
            close();
            for (Map.Entry<String, NDArray[]> e : loaded.entrySet()) {
                NDArray[] a = e.getValue();
                if (a[0] == null || a[1] == null || a[2] == null) {
                    throw new IllegalArgumentException(
                            "optimizer state for '" + e.getKey() + "' is incomplete");
                }
                Parameter param = byPath.get(e.getKey());
                NDArray like = param.getArray();
                NDArray m = zeros(like);
                NDArray v = zeros(like);
                m.addi(a[0].toType(like.getDataType(), false));
                v.addi(a[1].toType(like.getDataType(), false));
                means.put(param.getId(), m);
                variances.put(param.getId(), v);
                steps.put(param.getId(), a[2].toType(DataType.INT32, false).getInt());
            }
            updates = u == null ? 0 : u.toType(DataType.INT32, false).getInt();
        }
    }

    /**
     * @return the number of parameters with state
     */
    public int getStateSize() {
        return steps.size();
    }

    /** Frees the state. */
    @Override
    public synchronized void close() {
        means.clear();
        variances.clear();
        steps.clear();
        updates = 0;
        if (manager != null) {
            manager.close();
            manager = null;
        }
    }

    /** Builds a {@link ResumableAdamW}. */
    public static final class Builder extends OptimizerBuilder<Builder> {

        private ParameterTracker learningRate = Tracker.fixed(0.001f);
        private float beta1 = 0.9f;
        private float beta2 = 0.999f;
        private float epsilon = 1e-8f;

        Builder() {
            optWeightDecays(0.01f);
        }

        /** {@inheritDoc} */
        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Sets the learning rate tracker.
         *
         * @param tracker the tracker
         * @return this builder
         */
        public Builder optLearningRateTracker(ParameterTracker tracker) {
            this.learningRate = Objects.requireNonNull(tracker, "tracker");
            return this;
        }

        /**
         * Sets beta1.
         *
         * @param beta1 in [0, 1)
         * @return this builder
         */
        public Builder optBeta1(float beta1) {
            this.beta1 = beta1;
            return this;
        }

        /**
         * Sets beta2.
         *
         * @param beta2 in [0, 1)
         * @return this builder
         */
        public Builder optBeta2(float beta2) {
            this.beta2 = beta2;
            return this;
        }

        /**
         * Sets epsilon.
         *
         * @param epsilon &gt; 0
         * @return this builder
         */
        public Builder optEpsilon(float epsilon) {
            this.epsilon = epsilon;
            return this;
        }

        /**
         * Builds the optimizer.
         *
         * @return the optimizer
         * @throws IllegalArgumentException if a beta is outside [0, 1) or epsilon is not positive
         */
        public ResumableAdamW build() {
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException(
                        "AdamW betas must be in [0, 1), got " + beta1 + ", " + beta2);
            }
            if (!(epsilon > 0)) {
                throw new IllegalArgumentException("AdamW epsilon must be > 0, got " + epsilon);
            }
            return new ResumableAdamW(this);
        }
    }
}
