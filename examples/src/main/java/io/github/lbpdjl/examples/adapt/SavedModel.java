package io.github.lbpdjl.examples.adapt;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.peft.LoraModel;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.safetensors.DType;
import io.github.lbpdjl.safetensors.SafetensorsWriter;
import io.github.lbpdjl.zoo.Preprocessing;
import io.github.lbpdjl.zoo.vit.TimmModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Saves an adapted model for serving ({@code --save}) as a timm hub folder: for LoRA methods first
 * the PEFT adapter as trained ({@code adapter_model.safetensors} and {@code adapter_config.json},
 * which {@code LoraModel.fromPretrained} puts back onto the base model); then LBP-WHT layers
 * restored to plain Linear and Conv2d (their forward is exact, so nothing changes) and LoRA merged
 * into the base weights and unloaded (PEFT's merge_and_unload); then {@code model.safetensors}
 * (F32, timm's parameter names), a {@code config.json} in timm's hub format (architecture,
 * num_classes, model_args, label_names, pretrained_cfg with the preprocessing and the label names)
 * and a {@code synset.txt} of class names, in a folder per method. {@link Predict} serves it; the
 * zoo loads {@code model.safetensors} through Criteria with the argument {@code weights} and takes
 * the class names from the {@code synset.txt} beside it. The folder is written beside its final
 * place and moved there only when complete, so a failed or killed save leaves an earlier one as it
 * was.
 */
final class SavedModel {

    /** The configuration file, in timm's hub format. */
    static final String CONFIG = "config.json";

    /** The weights file, timm's hub name. */
    static final String WEIGHTS = "model.safetensors";

    private SavedModel() {}

    /**
     * The model's configuration as timm's hub {@code config.json} states it: architecture,
     * num_classes, model_args.in_chans, label_names and pretrained_cfg (input_size, interpolation,
     * crop_pct, crop_mode, mean, std, num_classes and, as timm reads them there too, label_names).
     */
    static String config(String architecture, Splits data) {
        Preprocessing p = data.preprocessing();
        int classes = data.classNames().size();
        JsonObject cfg = new JsonObject();
        cfg.add("input_size", array(List.of(p.getChannels(), p.getImageSize(), p.getImageSize())));
        cfg.addProperty("interpolation", p.getInterpolation().name().toLowerCase(Locale.ROOT));
        cfg.addProperty("crop_pct", p.getCropPct());
        cfg.addProperty("crop_mode", "center");
        cfg.add("mean", floats(p.getMean()));
        cfg.add("std", floats(p.getStd()));
        cfg.addProperty("num_classes", classes);
        JsonArray names = new JsonArray();
        data.classNames().forEach(names::add);
        cfg.add("label_names", names);
        JsonObject args = new JsonObject();
        args.addProperty("in_chans", p.getChannels());
        JsonObject root = new JsonObject();
        root.addProperty("architecture", architecture);
        root.addProperty("num_classes", classes);
        root.add("model_args", args);
        root.add("label_names", names.deepCopy());
        root.add("pretrained_cfg", cfg);
        return new GsonBuilder().setPrettyPrinting().create().toJson(root) + "\n";
    }

    private static JsonArray array(List<Integer> values) {
        JsonArray a = new JsonArray();
        values.forEach(a::add);
        return a;
    }

    private static JsonArray floats(float[] values) {
        JsonArray a = new JsonArray();
        for (float v : values) {
            a.add(v);
        }
        return a;
    }

    /**
     * Saves a trained model. The model is changed: LoRA merged and unloaded, LBP-WHT undone.
     *
     * @param model the model, after training
     * @param lora its LoRA model (not merged), or null
     * @param dir the folder to (re)place
     * @param architecture the zoo name of the model
     * @param data the data it was adapted to: class names and preprocessing
     * @return the weights file
     * @throws IOException if writing fails; an earlier folder is then left as it was
     */
    static Path save(Model model, LoraModel lora, Path dir, String architecture, Splits data)
            throws IOException {
        Path parent = dir.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, "." + dir.getFileName() + "-");
        try {
            if (lora != null) {
                lora.saveAdapter(tmp); // before merging: the adapter as trained
                lora.unload(true);
            }
            LbpRewriter.undo(model);
            Block block = model.getBlock();
            Map<String, Parameter> params =
                    block instanceof TimmModel
                            ? ((TimmModel) block).timmParameters()
                            : BlockTree.parameters(block);
            SafetensorsWriter.writeParameters(
                    tmp.resolve(WEIGHTS), params, DType.F32, Map.of("format", "pt"));
            Files.write(tmp.resolve("synset.txt"), data.classNames());
            Files.writeString(tmp.resolve(CONFIG), config(architecture, data));
            Path old = null;
            if (Files.exists(dir)) {
                old = Files.createTempDirectory(parent, "." + dir.getFileName() + "-old-");
                Files.delete(old);
                Files.move(dir, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            if (old != null) {
                deleteTree(old);
            }
            return dir.resolve(WEIGHTS);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }
}
