package io.github.lbpdjl.examples.adapt;

import ai.djl.Model;
import io.github.lbpdjl.peft.LoraModel;
import io.github.lbpdjl.rewrite.LbpRewriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Saves an adapted model for serving ({@code --save}): LBP-WHT layers restored to plain Linear and
 * Conv2d (their forward is exact, so nothing changes), LoRA merged into the base weights and
 * unloaded (PEFT's merge_and_unload), then DJL's {@code <artifact>-NNNN.params} and a {@code
 * synset.txt} of class names in a folder per method. The zoo loads the file back through Criteria
 * with the argument {@code weights}. The folder is written beside its final place and moved there
 * only when complete, so a failed or killed save leaves an earlier one as it was.
 */
final class SavedModel {

    private SavedModel() {}

    /**
     * Saves a trained model.
     *
     * @param model the model, after training
     * @param lora its LoRA model, or null
     * @param dir the folder to (re)place
     * @param classes the number of classes, named by their index
     * @return the weights file
     * @throws IOException if writing fails; an earlier folder is then left as it was
     */
    static Path save(Model model, LoraModel lora, Path dir, int classes) throws IOException {
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
            List<String> names = IntStream.range(0, classes).mapToObj(String::valueOf).toList();
            Files.write(tmp.resolve("synset.txt"), names);
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
