package io.github.lbpdjl.zoo.vit;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.github.lbpdjl.modules.BlockTree;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * timm-style paths over a DJL block tree, {@code "blocks.0.attn.qkv"} for modules and {@code
 * "blocks.0.attn.qkv.weight"} for parameters: the project's one path system, {@link BlockTree}.
 *
 * <p>A {@link TimmBlock} stores each child under {@code "%02d" + timmName}, which {@link BlockTree}
 * reads back as the timm name ({@code "0"}, {@code "1"}, ... of a {@link TimmSequential} by
 * position); parameter names are PyTorch's ({@link BlockTree#torchName(String)}: a LayerNorm's
 * {@code gamma} and {@code beta} are {@code weight} and {@code bias}).
 */
public final class TimmModules {

    private TimmModules() {}

    /**
     * Lists every module below {@code root} by its timm path, depth first, parents before their
     * children (as PyTorch's {@code named_modules()}, without the root itself).
     *
     * @param root the root block
     * @return an unmodifiable, ordered map path -> block
     */
    public static Map<String, Block> namedModules(Block root) {
        Map<String, Block> out = new LinkedHashMap<>(BlockTree.modules(root));
        out.remove("");
        return Collections.unmodifiableMap(out);
    }

    /**
     * Lists every parameter below {@code root} by its timm name, e.g. {@code cls_token}, {@code
     * blocks.0.norm1.weight}.
     *
     * @param root the root block
     * @return an unmodifiable, ordered map name -> parameter
     */
    public static Map<String, Parameter> namedParameters(Block root) {
        return Collections.unmodifiableMap(BlockTree.parameters(root));
    }

    /**
     * Finds a module by its timm path.
     *
     * @param root the root block
     * @param path e.g. {@code "blocks.0.attn.qkv"}
     * @return the module
     * @throws IllegalArgumentException if the path names no module
     */
    public static Block getModule(Block root, String path) {
        return node(root, path).getBlock();
    }

    /**
     * Replaces the module at a timm path; its parent must be a {@link TimmBlock}.
     *
     * @param root the root block
     * @param path e.g. {@code "blocks.0.attn.qkv"}
     * @param newBlock the new module
     * @return the module that was replaced
     * @throws IllegalArgumentException if the path names no module or its parent cannot replace
     *     children
     */
    public static Block replaceModule(Block root, String path, Block newBlock) {
        Objects.requireNonNull(newBlock, "newBlock");
        BlockTree.Node node = node(root, path);
        if (!(node.getParent() instanceof TimmBlock)) {
            throw new IllegalArgumentException(
                    "cannot replace '"
                            + path
                            + "': its parent is a "
                            + node.getParent().getClass().getName()
                            + ", not a TimmBlock");
        }
        BlockTree.replaceChild(node.getParent(), node.getKey(), node.getBlock(), newBlock);
        return node.getBlock();
    }

    private static BlockTree.Node node(Block root, String path) {
        if (!path.isEmpty()) {
            for (BlockTree.Node n : BlockTree.walk(root)) {
                if (n.getPath().equals(path)) {
                    return n;
                }
            }
        }
        throw new IllegalArgumentException("no module at path '" + path + "'");
    }
}
