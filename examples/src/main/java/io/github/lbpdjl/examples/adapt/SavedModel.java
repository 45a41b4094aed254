package io.github.lbpdjl.examples.adapt;

import ai.djl.Model;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.github.lbpdjl.peft.LoraModel;
import io.github.lbpdjl.rewrite.LbpRewriter;
import io.github.lbpdjl.zoo.Preprocessing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Saves an adapted model for serving ({@code --save}): LBP-WHT layers restored to plain Linear and
 * Conv2d (their forward is exact, so nothing changes), LoRA merged into the base weights and
 * unloaded (PEFT's merge_and_unload), then DJL's {@code <artifact>-NNNN.params}, a {@code
 * synset.txt} of class names and a {@code config.json} in timm's hub format (architecture, classes,
 * channels, label names, preprocessing) in a folder per method; {@link Predict} serves it. The zoo
 * loads the file back through Criteria with the argument {@code weights}. The folder is written
 * beside its final place and moved there only when complete, so a failed or killed save leaves an
 * earlier one as it was.
 */
final class SavedModel {

    /** The configuration file, in timm's hub format. */
    static final String CONFIG = "config.json";

    private SavedModel() {}

    /**
     * The model's configuration as timm's hub {@code config.json} states it: architecture,
     * num_classes, model_args.in_chans, label_names and pretrained_cfg (input_size, interpolation,
     * crop_pct, mean, std).
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
        JsonObject args = new JsonObject();
        args.addProperty("in_chans", p.getChannels());
        JsonObject root = new JsonObject();
        root.addProperty("architecture", architecture);
        root.addProperty("num_classes", classes);
        root.add("model_args", args);
        JsonArray names = new JsonArray();
        data.classNames().forEach(names::add);
        root.add("label_names", names);
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
     * Saves a trained model.
     *
     * @param model the model, after training
     * @param lora its LoRA model, or null
     * @param dir the folder to (re)place
     * @param architecture the zoo name of the model
     * @param data the data it was adapted to: class names and preprocessing
     * @return the weights file
     * @throws IOException if writing fails; an earlier folder is then left as it was
     */
    static Path save(Model model, LoraModel lora, Path dir, String architecture, Splits data)
            throws IOException {
        if (lora != null) {
            lora.unload(true);
        }
        LbpRewriter.undo(model);
        Path parent = dir.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, "." + dir.getFileName() + "-");
        try {
            String name = model.getProperty("artifactId", model.getName());
            model.save(tmp, name);
            Path params;
            try (Stream<Path> files = Files.list(tmp)) {
                params =
                        files.filter(f -> f.getFileName().toString().endsWith(".params"))
                                .findFirst()
                                .orElseThrow(
                                        () -> new IOException("DJL wrote no .params in " + tmp));
            }
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
            return dir.resolve(params.getFileName());
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
