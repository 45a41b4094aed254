package io.github.lbpdjl.zoo;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.util.Pair;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.safetensors.DType;
import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.safetensors.SafetensorsWriter;
import io.github.lbpdjl.safetensors.Tensor;
import io.github.lbpdjl.zoo.efficientformer.Attention;
import io.github.lbpdjl.zoo.efficientformer.EfficientFormer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Imports and exports {@link EfficientFormer} weights as safetensors with timm's names, as timm's
 * {@code state_dict} has them (e.g. Hugging Face's {@code timm/efficientformer_l1.snap_dist_in1k}).
 *
 * <p>Every parameter is matched by its timm name ({@link EfficientFormer#timmParameters()}; a
 * leading {@code module.} is ignored), its shape validated before anything is written, and missing
 * and extra tensors are errors. timm's integer buffers are not parameters here: each {@code
 * num_batches_tracked} is ignored, and each {@code attention_bias_idxs} is checked against the
 * index the model computes for its grid (a checkpoint for another grid is refused). Classifiers
 * ({@code head}, {@code head_dist}) for another number of classes are not loaded: the model keeps
 * them freshly initialised and a log line says so. F32, F16, BF16 and F64 tensors are accepted and
 * converted to float32. The original snap-research checkpoints ({@code network.*}, {@code
 * dist_head}) are not read: timm's {@code checkpoint_filter_fn} converts them.
 *
 * <p>{@link #save} writes the integer buffers too, so that timm's {@code load_state_dict} accepts
 * the file with {@code strict=True}.
 */
public final class EfficientFormerWeights {

    private static final String BATCHES = ".num_batches_tracked";
    private static final String BIAS_IDXS = ".attention_bias_idxs";

    private EfficientFormerWeights() {}

    /**
     * Loads a safetensors checkpoint into an initialised model.
     *
     * @param model the model, initialised
     * @param file the checkpoint
     * @return what was loaded
     * @throws IOException if the file is missing, unreadable or malformed
     * @throws IllegalArgumentException on missing or extra tensors or a wrong shape, naming them
     */
    public static ImportResult load(EfficientFormer model, Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return load(model, f);
        }
    }

    /**
     * Loads an open safetensors checkpoint into an initialised model.
     *
     * @param model the model, initialised
     * @param file the checkpoint
     * @return what was loaded
     * @throws IOException if reading fails
     * @throws IllegalArgumentException on missing or extra tensors or a wrong shape, naming them
     */
    public static ImportResult load(EfficientFormer model, SafetensorsFile file)
            throws IOException {
        Map<String, Block> modules = model.namedModules();
        for (String key : file.keys()) {
            String name = CheckpointNames.fromTimm(key);
            if (isBuffer(name, BIAS_IDXS, Attention.class, modules)) {
                checkBiasIndex(file, key, (Attention) modules.get(strip(name, BIAS_IDXS)));
            }
        }
        CheckpointImport.Names names =
                key -> {
                    String name = CheckpointNames.fromTimm(key);
                    if (isBuffer(name, BATCHES, BatchNorm.class, modules)
                            || isBuffer(name, BIAS_IDXS, Attention.class, modules)) {
                        return "";
                    }
                    return name;
                };
        return CheckpointImport.load(
                file,
                model.timmParameters(),
                names,
                name -> name.startsWith("head.") || name.startsWith("head_dist."),
                describe(model));
    }

    /** Whether a name is timm's integer buffer of a module of the type that has it. */
    private static boolean isBuffer(
            String name, String suffix, Class<? extends Block> type, Map<String, Block> modules) {
        return name.endsWith(suffix) && type.isInstance(modules.get(strip(name, suffix)));
    }

    private static String strip(String name, String suffix) {
        return name.substring(0, name.length() - suffix.length());
    }

    private static void checkBiasIndex(SafetensorsFile file, String key, Attention module)
            throws IOException {
        int[] grid = module.getGridSize();
        long n = (long) grid[0] * grid[1];
        long[] shape = file.getShape(key);
        float[] got = file.get(key).toFloatArray();
        long[] want = Attention.relativePositionIndex(grid[0], grid[1]);
        boolean same = Arrays.equals(shape, new long[] {n, n});
        for (int i = 0; same && i < want.length; i++) {
            same = got[i] == want[i];
        }
        if (!same) {
            throw new IllegalArgumentException(
                    file.getSource()
                            + ": '"
                            + key
                            + "' of shape "
                            + Arrays.toString(shape)
                            + " is not the relative position index of the model's "
                            + grid[0]
                            + "x"
                            + grid[1]
                            + " token grid (a checkpoint for another image size?)");
        }
    }

    /**
     * Saves a model's weights with timm's names, with timm's integer buffers ({@code
     * num_batches_tracked} as 0, {@code attention_bias_idxs}), in timm's {@code state_dict} order.
     *
     * @param model the model, initialised
     * @param file the target (written atomically)
     * @param dtype F32, F16, BF16 or F64 for the parameters
     * @param metadata extra {@code __metadata__} entries, or null
     * @throws IOException if writing fails
     */
    public static void save(
            EfficientFormer model, Path file, DType dtype, Map<String, String> metadata)
            throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (BlockTree.Node n : BlockTree.walk(model)) {
            Block b = n.getBlock();
            String prefix = n.getPath().isEmpty() ? "" : n.getPath() + ".";
            for (Pair<String, Parameter> p : b.getDirectParameters()) {
                tensors.put(
                        prefix + BlockTree.torchName(b, p.getKey()),
                        Tensor.fromNDArray(p.getValue().getArray(), dtype));
                if (b instanceof Attention && "attention_biases".equals(p.getKey())) {
                    int[] g = ((Attention) b).getGridSize();
                    long cells = (long) g[0] * g[1];
                    tensors.put(
                            prefix + BIAS_IDXS.substring(1),
                            int64(Attention.relativePositionIndex(g[0], g[1]), cells, cells));
                }
            }
            if (b instanceof BatchNorm) {
                tensors.put(prefix + BATCHES.substring(1), int64(new long[] {0}));
            }
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        if (metadata != null) {
            meta.putAll(metadata);
        }
        SafetensorsWriter.write(file, tensors, meta);
    }

    private static Tensor int64(long[] values, long... shape) {
        ByteBuffer bb = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            bb.putLong(v);
        }
        return new Tensor(DType.I64, shape, bb.array());
    }

    private static String describe(EfficientFormer model) {
        return "EfficientFormer(depths "
                + Arrays.toString(model.getDepths())
                + ", widths "
                + Arrays.toString(model.getEmbedDims())
                + ", "
                + model.getNumClasses()
                + " classes)";
    }
}
