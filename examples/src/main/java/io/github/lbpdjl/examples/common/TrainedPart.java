package io.github.lbpdjl.examples.common;

import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.repository.zoo.ModelLoader;
import io.github.lbpdjl.modules.BlockTree;
import io.github.lbpdjl.rewrite.TargetModules;
import io.github.lbpdjl.zoo.EfficientFormerVariant;
import io.github.lbpdjl.zoo.Preprocessing;
import io.github.lbpdjl.zoo.SwinV2Variant;
import io.github.lbpdjl.zoo.TimmModelLoader;
import io.github.lbpdjl.zoo.VitModelZoo;
import io.github.lbpdjl.zoo.VitVariant;
import io.github.lbpdjl.zoo.vit.TimmModel;
import io.github.lbpdjl.zoo.vit.VisionTransformer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The part of a zoo model that trains ({@code --train-blocks}) and the regular expressions over its
 * timm module paths that the programs need: its token-wise layers (LBP-WHT's and LoRA's targets)
 * and what stays frozen. A ViT's units are its blocks ({@code blocks.11}); EfficientFormer's are
 * its four stages ({@code stages.3}), so 1 is the paper's "last stage" setting; SwinV2's are its
 * four stages too ({@code layers.3}: its patch merging and blocks). 'all' trains the whole model,
 * embeddings (or stem) included. Norm layers stay frozen and the head trains, as in the paper.
 */
public final class TrainedPart {

    /** The trained head: timm's {@code head} and EfficientFormer's distillation head. */
    private static final String HEAD = "head(_dist)?\\.";

    private static final String NORMS = ".*norm[0-9]*\\..*";

    /** The zoo's model families. */
    private enum Family {
        VIT,
        EFFICIENTFORMER,
        SWINV2
    }

    private final String model;
    private final Family family;
    private final boolean vit;
    private final int depth;
    private final List<Integer> units;

    private TrainedPart(String model, Family family, int depth, List<Integer> units) {
        this.model = model;
        this.family = family;
        this.vit = family == Family.VIT;
        this.depth = depth;
        this.units = units;
    }

    /**
     * Resolves a setting for a zoo model.
     *
     * @param model the zoo name, e.g. vit_base_patch16_224, efficientformer_l1 or
     *     swinv2_tiny_window8_256
     * @param setting 'all', or the number of last blocks (ViT) or stages (EfficientFormer, SwinV2)
     * @return the trained part
     * @throws IllegalArgumentException naming the model or the setting if either is unknown
     */
    public static TrainedPart of(String model, String setting) {
        Family family = family(model);
        int depth = family == Family.VIT ? depthOfVit(model) : 4;
        List<Integer> units = last(setting, depth, family == Family.VIT ? "blocks" : "stages");
        return new TrainedPart(model, family, depth, units);
    }

    /**
     * Returns the names of every model of the zoo.
     *
     * @return ViTs first, then EfficientFormers, then SwinV2s
     */
    public static List<String> modelNames() {
        List<String> names = new ArrayList<>();
        for (VitVariant v : VitVariant.values()) {
            names.add(v.getName());
        }
        for (EfficientFormerVariant v : EfficientFormerVariant.values()) {
            names.add(v.getName());
        }
        for (SwinV2Variant v : SwinV2Variant.values()) {
            names.add(v.getName());
        }
        return names;
    }

    /**
     * Builds the model with random weights and its default head.
     *
     * @param model the zoo name
     * @return the block
     */
    public static TimmModel build(String model) {
        switch (family(model)) {
            case VIT:
                return VitVariant.fromName(model).build();
            case SWINV2:
                return SwinV2Variant.fromName(model).build();
            default:
                return EfficientFormerVariant.fromName(model).build();
        }
    }

    /**
     * Returns how the model takes images (timm's pretrained_cfg: size, interpolation, crop, mean
     * and standard deviation).
     *
     * @param model the zoo name
     * @return the preprocessing
     */
    public static Preprocessing preprocessing(String model) {
        switch (family(model)) {
            case VIT:
                return VitVariant.fromName(model).getPreprocessing();
            case SWINV2:
                return SwinV2Variant.fromName(model).getPreprocessing();
            default:
                return EfficientFormerVariant.fromName(model).getPreprocessing();
        }
    }

    /**
     * Returns how the model takes images when its weights are given: a checkpoint folder's
     * preprocessing (timm's hub {@code config.json} or transformers' configuration, read by the
     * zoo's loader) over the zoo variant's; for a weights file, a URL or none, the variant's.
     *
     * @param model the zoo name
     * @param weights the program's --weights, or null
     * @return the preprocessing
     * @throws IOException if a checkpoint folder's configuration cannot be read
     */
    public static Preprocessing preprocessing(String model, String weights) throws IOException {
        if (weights == null || weights.contains("://") || !Files.isDirectory(Path.of(weights))) {
            return preprocessing(model);
        }
        try {
            ModelLoader loader = new VitModelZoo().getModelLoader(model);
            return ((TimmModelLoader) loader).getPreprocessing(Path.of(weights));
        } catch (IllegalArgumentException e) {
            throw new IOException(weights + ": " + e.getMessage(), e);
        }
    }

    private static Family family(String model) {
        for (VitVariant v : VitVariant.values()) {
            if (v.getName().equals(model)) {
                return Family.VIT;
            }
        }
        for (SwinV2Variant v : SwinV2Variant.values()) {
            if (v.getName().equals(model)) {
                return Family.SWINV2;
            }
        }
        EfficientFormerVariant.fromName(model); // throws on an unknown name
        return Family.EFFICIENTFORMER;
    }

    private static int depthOfVit(String model) {
        VisionTransformer v = VitVariant.fromName(model).build();
        return v.getDepth();
    }

    private static List<Integer> last(String setting, int depth, String units) {
        int n;
        try {
            n = setting.equals("all") ? depth : Integer.parseInt(setting);
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < 1 || n > depth) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "need 'all' or a number of %s in 1..%d (the model has %d %s)",
                            units,
                            depth,
                            depth,
                            units));
        }
        List<Integer> out = new ArrayList<>();
        for (int i = depth - n; i < depth; i++) {
            out.add(i);
        }
        return out;
    }

    /**
     * Returns whether the whole model trains.
     *
     * @return true for 'all'
     */
    public boolean isAll() {
        return units.size() == depth;
    }

    /**
     * Returns the trained units' indices.
     *
     * @return the last blocks (ViT) or stages (EfficientFormer), in order
     */
    public List<Integer> getUnits() {
        return units;
    }

    /**
     * Returns a regular expression matching the paths under the trained units, e.g. {@code
     * blocks\.(10|11)\..*}.
     *
     * @return the expression
     */
    public String trainedRegex() {
        return unitsRegex() + "\\..*";
    }

    /** The trained units' paths, e.g. {@code blocks\.(10|11)}. */
    private String unitsRegex() {
        String prefix =
                switch (family) {
                    case VIT -> "blocks";
                    case SWINV2 -> "layers";
                    default -> "stages";
                };
        StringBuilder sb = new StringBuilder(prefix + "\\.(");
        for (int i = 0; i < units.size(); i++) {
            sb.append(i == 0 ? "" : "|").append(units.get(i));
        }
        return sb.append(')').toString();
    }

    /**
     * The token-wise layers of the trained units: a ViT block's qkv, proj, fc1 and fc2 Linears; an
     * EfficientFormer stage's 1x1-convolution MLPs (Meta4D blocks) and the Linears of its Meta3D
     * blocks (qkv, proj, fc1, fc2); a SwinV2 stage's window attention (qkv, proj), MLP (fc1, fc2)
     * and patch merging ({@code downsample.reduction}); not the position-bias MLP ({@code
     * cpb_mlp}), which sees no tokens.
     *
     * @return the targets of LBP-WHT and LoRA
     */
    public TargetModules tokenwiseLayers() {
        String layers =
                switch (family) {
                    case VIT -> "(attn\\.qkv|attn\\.proj|mlp\\.fc1|mlp\\.fc2)";
                    case SWINV2 ->
                            "(attn\\.qkv|attn\\.proj|mlp\\.fc1|mlp\\.fc2|downsample\\.reduction)";
                    default -> "(token_mixer\\.qkv|token_mixer\\.proj|mlp\\.fc1|mlp\\.fc2)";
                };
        return TargetModules.regex(trainedRegex() + layers);
    }

    /**
     * The layers {@link #tokenwiseLayers()} selects that are not Linear (EfficientFormer's 1x1
     * convolutions), by path: the programs put LoRA on the Linear layers only, and a target list
     * that selects a Conv2d gives it a LoRA Conv2d (as PEFT does), so their LoRA configurations
     * exclude these.
     *
     * @param root the model's block
     * @return the exclusions, or null if there are none
     */
    public TargetModules loraExclusions(Block root) {
        TargetModules targets = tokenwiseLayers();
        List<String> paths = new ArrayList<>();
        for (BlockTree.Node n : BlockTree.walk(root)) {
            Block b = n.getBlock();
            if (n.getParent() != null
                    && !(b instanceof Linear)
                    && !b.getDirectParameters().isEmpty()
                    && targets.matches(n.getPath())) {
                paths.add(n.getPath());
            }
        }
        return paths.isEmpty() ? null : TargetModules.names(paths.toArray(new String[0]));
    }

    /**
     * What stays frozen: everything outside the trained units and the head, and the norm layers;
     * for head-only training, everything but the head.
     *
     * @param headOnly whether only the head trains
     * @return the frozen parameters' modules
     */
    public TargetModules frozen(boolean headOnly) {
        if (headOnly) {
            return TargetModules.regex("(?!" + HEAD + ").*");
        }
        if (isAll()) {
            return TargetModules.regex(NORMS);
        }
        return TargetModules.regex(outsideRegex() + "|" + NORMS);
    }

    /**
     * Returns a regular expression matching every path outside the trained units and the heads.
     *
     * @return the expression
     */
    public String outsideRegex() {
        return "(?!" + unitsRegex() + "\\.|" + HEAD + ").*";
    }

    /**
     * Says what trains, e.g. "the last 2 of 12 blocks" or "the last stage of 4".
     *
     * @return the description
     */
    public String describe() {
        String unit = vit ? "block" : "stage";
        if (isAll()) {
            return "the whole " + model;
        }
        if (units.size() == 1) {
            return String.format(Locale.ROOT, "the last %s of %d", unit, depth);
        }
        return String.format(Locale.ROOT, "the last %d of %d %ss", units.size(), depth, unit);
    }

    /**
     * Returns the names of the model's heads, which train with every method.
     *
     * @return {@code head}, and EfficientFormer's {@code head_dist}
     */
    public String[] heads() {
        return isEfficientFormer() ? new String[] {"head", "head_dist"} : new String[] {"head"};
    }

    /**
     * Returns the model's number of units.
     *
     * @return its blocks (ViT) or stages (EfficientFormer)
     */
    public int getDepth() {
        return depth;
    }

    /**
     * Returns whether the model is a ViT (else an EfficientFormer or a SwinV2).
     *
     * @return true for a ViT
     */
    public boolean isVit() {
        return vit;
    }

    /**
     * Returns whether the model is an EfficientFormer, whose MLPs are mostly 1x1 convolutions.
     *
     * @return true for an EfficientFormer
     */
    public boolean isEfficientFormer() {
        return family == Family.EFFICIENTFORMER;
    }
}
