package io.github.lbpdjl.zoo;

import io.github.lbpdjl.safetensors.SafetensorsFile;
import io.github.lbpdjl.zoo.swin.SwinTransformerV2;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Imports {@link SwinTransformerV2} weights from safetensors with timm's names, as timm's {@code
 * state_dict} has them (e.g. Hugging Face's {@code timm/swinv2_tiny_window8_256.ms_in1k}).
 *
 * <p>Every parameter is matched by its timm name ({@link SwinTransformerV2#timmParameters()}; a
 * leading {@code module.} is ignored), its shape validated before anything is written, and missing
 * and extra tensors are errors. timm's non-persistent buffers ({@code relative_position_index},
 * {@code relative_coords_table}, {@code attn_mask}, {@code k_bias}), which older exports may carry,
 * are ignored: the model computes them. A head ({@code head.fc}) for another number of classes is
 * not loaded: the model keeps it freshly initialised and a log line says so. F32, F16, BF16 and F64
 * tensors are accepted. The original Microsoft checkpoints (a {@code head} without {@code .fc},
 * {@code downsample} at the end of the previous stage) are not read: timm's {@code
 * checkpoint_filter_fn} converts them.
 */
public final class SwinV2Weights {

    private SwinV2Weights() {}

    /**
     * Loads a safetensors checkpoint into an initialised model.
     *
     * @param model the model, initialised
     * @param file the checkpoint
     * @return what was loaded
     * @throws IOException if the file is missing, unreadable or malformed
     * @throws IllegalArgumentException on missing or extra tensors or a wrong shape, naming them
     */
    public static ImportResult load(SwinTransformerV2 model, Path file) throws IOException {
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
    public static ImportResult load(SwinTransformerV2 model, SafetensorsFile file)
            throws IOException {
        CheckpointImport.Names names =
                key -> {
                    String name = CheckpointNames.fromTimm(key);
                    return isBuffer(name) ? "" : name;
                };
        return CheckpointImport.load(
                file,
                model.timmParameters(),
                names,
                name -> name.startsWith("head.fc."),
                describe(model));
    }

    /** Whether a name is one of timm's non-persistent buffers of SwinV2. */
    static boolean isBuffer(String name) {
        return name.endsWith(".relative_position_index")
                || name.endsWith(".relative_coords_table")
                || name.endsWith(".attn_mask")
                || name.endsWith(".attn.k_bias");
    }

    private static String describe(SwinTransformerV2 model) {
        return "SwinTransformerV2(embed "
                + model.getEmbedDim()
                + ", depths "
                + Arrays.toString(model.getDepths())
                + ", window "
                + model.getWindowSize()
                + ", "
                + model.getNumClasses()
                + " classes)";
    }
}
