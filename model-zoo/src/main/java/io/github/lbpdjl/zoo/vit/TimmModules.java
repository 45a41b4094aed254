package io.github.lbpdjl.zoo.vit;

import ai.djl.nn.Block;
import ai.djl.nn.BlockList;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.util.Pair;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * timm-style paths over a DJL block tree: {@code "blocks.0.attn.qkv"} for modules and {@code
 * "blocks.0.attn.qkv.weight"} for parameters.
 *
 * <p>A {@link TimmBlock} names its children by their timm names; any other block's children are
 * named by their DJL key without the {@code "%02d"} order prefix that {@code addChildBlock} puts
 * there. A DJL {@link LayerNorm}'s {@code gamma} and {@code beta} are named {@code weight} and
 * {@code bias}, as in PyTorch.
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
        Map<String, Block> out = new LinkedHashMap<>();
        collect(root, "", out);
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
        Map<String, Parameter> out = new LinkedHashMap<>();
        addDirectParameters(root, "", out);
        for (Map.Entry<String, Block> e : namedModules(root).entrySet()) {
            addDirectParameters(e.getValue(), e.getKey() + ".", out);
        }
        return Collections.unmodifiableMap(out);
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
        Block b = namedModules(root).get(path);
        if (b == null) {
            throw new IllegalArgumentException("no module at path '" + path + "'");
        }
        return b;
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
        int dot = path.lastIndexOf('.');
        Block parent = dot < 0 ? root : getModule(root, path.substring(0, dot));
        String name = path.substring(dot + 1);
        if (!(parent instanceof TimmBlock)) {
            throw new IllegalArgumentException(
                    "cannot replace '"
                            + path
                            + "': its parent is a "
                            + parent.getClass().getName()
                            + ", not a TimmBlock");
        }
        return ((TimmBlock) parent).replaceChild(name, newBlock);
    }

    private static void collect(Block block, String prefix, Map<String, Block> out) {
        BlockList children = block.getChildren();
        for (int i = 0; i < children.size(); i++) {
            Pair<String, Block> p = children.get(i);
            String name = childName(block, i, p.getKey());
            String path = prefix + name;
            out.put(path, p.getValue());
            collect(p.getValue(), path + ".", out);
        }
    }

    private static String childName(Block parent, int index, String key) {
        if (parent instanceof TimmBlock) {
            return ((TimmBlock) parent).getChildNames().get(index);
        }
        String order = String.format(Locale.ROOT, "%02d", index + 1);
        return key.startsWith(order) && key.length() > order.length()
                ? key.substring(order.length())
                : key;
    }

    private static void addDirectParameters(
            Block block, String prefix, Map<String, Parameter> out) {
        for (Pair<String, Parameter> p : block.getDirectParameters()) {
            String name = p.getKey();
            if (block instanceof LayerNorm) {
                if ("gamma".equals(name)) {
                    name = "weight";
                } else if ("beta".equals(name)) {
                    name = "bias";
                }
            }
            out.put(prefix + name, p.getValue());
        }
    }
}
