package io.github.lbpdjl.modules;

import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.BlockList;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.util.Pair;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.ListIterator;
import java.util.Map;

/**
 * Walks a DJL block tree by path and replaces children in place.
 *
 * <p>Paths join child names with dots. DJL stores children under keys such as {@code "01fc1"}; the
 * leading order digits are dropped, and a child whose remaining name is just its class name or the
 * name of one of its superclasses (what {@code SequentialBlock.add} and {@code ParallelBlock} give)
 * is named by its 0-based position instead, as PyTorch's {@code nn.Sequential} does: {@code
 * 0.3.mlp.fc1}.
 *
 * <p>Replacing a child updates the parent's children list (same key, same position, so .params
 * files keep their structure) and every field of the parent that holds the old child, directly, in
 * a {@link List} or in an array: composite blocks such as DJL's ScaledDotProductAttentionBlock call
 * their children through such fields.
 */
public final class BlockTree {

    private static final Field CHILDREN;

    static {
        try {
            CHILDREN = AbstractBlock.class.getDeclaredField("children");
            CHILDREN.setAccessible(true);
        } catch (NoSuchFieldException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private BlockTree() {}

    /** One module of a tree: its path, its parent (null for the root) and its key there. */
    public static final class Node {
        private final String path;
        private final Block parent;
        private final String key;
        private final Block block;

        Node(String path, Block parent, String key, Block block) {
            this.path = path;
            this.parent = parent;
            this.key = key;
            this.block = block;
        }

        /**
         * @return the dotted path, "" for the root
         */
        public String getPath() {
            return path;
        }

        /**
         * @return the parent block, or null for the root
         */
        public Block getParent() {
            return parent;
        }

        /**
         * @return the child key in the parent's children list, or null for the root
         */
        public String getKey() {
            return key;
        }

        /**
         * @return the block
         */
        public Block getBlock() {
            return block;
        }
    }

    /**
     * Lists every module of a tree, depth first, parents before children.
     *
     * @param root the root block
     * @return the modules, the root first with path ""
     */
    public static List<Node> walk(Block root) {
        List<Node> out = new ArrayList<>();
        walk(root, null, null, "", out);
        return out;
    }

    /**
     * Maps every module path to its block.
     *
     * @param root the root block
     * @return path to block, in walk order (the root under "")
     */
    public static Map<String, Block> modules(Block root) {
        Map<String, Block> map = new LinkedHashMap<>();
        for (Node n : walk(root)) {
            map.put(n.getPath(), n.getBlock());
        }
        return map;
    }

    /**
     * Maps every parameter of a tree to its PyTorch-style path, e.g. {@code blocks.0.norm1.weight},
     * in walk order; a Parameter shared by two blocks is listed under each path.
     *
     * @param root the root block
     * @return path to parameter, names as {@link #torchName(Block, String)} gives them
     */
    public static Map<String, Parameter> parameters(Block root) {
        Map<String, Parameter> map = new LinkedHashMap<>();
        for (Node n : walk(root)) {
            for (Pair<String, Parameter> p : n.getBlock().getDirectParameters()) {
                String name = torchName(n.getBlock(), p.getKey());
                map.put(n.getPath().isEmpty() ? name : n.getPath() + "." + name, p.getValue());
            }
        }
        return map;
    }

    /**
     * Returns PyTorch's name for a DJL parameter name: DJL's norm layers call their scale and shift
     * {@code gamma} and {@code beta} and BatchNorm's statistics {@code runningMean} and {@code
     * runningVar}; PyTorch calls them {@code weight}, {@code bias}, {@code running_mean} and {@code
     * running_var}. Other names are kept.
     *
     * @param djlName the DJL parameter name
     * @return the PyTorch name
     */
    public static String torchName(String djlName) {
        switch (djlName) {
            case "gamma":
                return "weight";
            case "beta":
                return "bias";
            case "runningMean":
                return "running_mean";
            case "runningVar":
                return "running_var";
            default:
                return djlName;
        }
    }

    /**
     * Returns PyTorch's name for a parameter of a block: the names of DJL's norm layers ({@link
     * BatchNorm}, {@link LayerNorm} and their subclasses) as {@link #torchName(String)} maps them,
     * every other block's as they are. A model's own block may so call a parameter {@code gamma} as
     * its PyTorch twin does (timm's {@code LayerScale}: {@code blocks.0.ls1.gamma}).
     *
     * @param block the block that holds the parameter
     * @param djlName the DJL parameter name
     * @return the PyTorch name
     */
    public static String torchName(Block block, String djlName) {
        return block instanceof BatchNorm || block instanceof LayerNorm
                ? torchName(djlName)
                : djlName;
    }

    private static void walk(Block block, Block parent, String key, String path, List<Node> out) {
        out.add(new Node(path, parent, key, block));
        BlockList children = block.getChildren();
        for (int i = 0; i < children.size(); i++) {
            Pair<String, Block> child = children.get(i);
            String name = childName(child.getKey(), child.getValue(), i);
            walk(
                    child.getValue(),
                    block,
                    child.getKey(),
                    path.isEmpty() ? name : path + "." + name,
                    out);
        }
    }

    static String childName(String key, Block child, int index) {
        String name = key.replaceFirst("^\\d+", "");
        if (name.isEmpty()) {
            return String.valueOf(index);
        }
        // a class name (of the child or a superclass: stable when LbpLinear replaces Linear)
        for (Class<?> c = child.getClass(); c != null; c = c.getSuperclass()) {
            if (name.equals(c.getSimpleName())) {
                return String.valueOf(index);
            }
        }
        return name;
    }

    /**
     * Replaces a child of a parent block, in its children list and in every field that holds it.
     *
     * @param parent the parent, an {@link AbstractBlock}
     * @param key the child's key in the parent's children list
     * @param oldChild the child now there
     * @param newChild its replacement
     * @throws IllegalArgumentException if the parent cannot be rewritten or the key does not hold
     *     oldChild
     */
    public static void replaceChild(Block parent, String key, Block oldChild, Block newChild) {
        if (!(parent instanceof AbstractBlock)) {
            throw new IllegalArgumentException(
                    "cannot replace child '"
                            + key
                            + "' of "
                            + parent.getClass().getName()
                            + ": only AbstractBlock parents can be rewritten");
        }
        try {
            BlockList children = (BlockList) CHILDREN.get(parent);
            int index = children.indexOf(key);
            if (index < 0 || children.valueAt(index) != oldChild) {
                throw new IllegalArgumentException(
                        "child '"
                                + key
                                + "' of "
                                + parent.getClass().getSimpleName()
                                + " is not the block to replace");
            }
            children.remove(index);
            children.add(index, key, newChild);
            for (Class<?> c = parent.getClass();
                    c != null && c != Object.class;
                    c = c.getSuperclass()) {
                for (Field f : c.getDeclaredFields()) {
                    if (Modifier.isStatic(f.getModifiers()) || f.getType().isPrimitive()) {
                        continue;
                    }
                    replaceInField(parent, f, oldChild, newChild);
                }
            }
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot rewrite " + parent.getClass().getName(), e);
        }
    }

    private static void replaceInField(Block parent, Field f, Block oldChild, Block newChild)
            throws IllegalAccessException {
        if (!f.trySetAccessible()) {
            return;
        }
        Object value = f.get(parent);
        if (value == oldChild) {
            if (!f.getType().isInstance(newChild)) {
                throw new IllegalArgumentException(
                        "field '"
                                + f.getName()
                                + "' of "
                                + parent.getClass().getName()
                                + " has type "
                                + f.getType().getSimpleName()
                                + " and cannot hold a "
                                + newChild.getClass().getSimpleName());
            }
            f.set(parent, newChild);
        } else if (value instanceof List) {
            @SuppressWarnings("unchecked")
            ListIterator<Object> it = ((List<Object>) value).listIterator();
            while (it.hasNext()) {
                if (it.next() == oldChild) {
                    it.set(newChild);
                }
            }
        } else if (value instanceof Object[] && !(value instanceof String[])) {
            Object[] arr = (Object[]) value;
            for (int i = 0; i < arr.length; i++) {
                if (arr[i] == oldChild && f.getType().getComponentType().isInstance(newChild)) {
                    arr[i] = newChild;
                }
            }
        }
    }

    /**
     * Returns the blocks of a given type in a tree, by path.
     *
     * @param root the root
     * @param type the block type
     * @param <T> the type
     * @return path to block, in walk order
     */
    public static <T extends Block> Map<String, T> find(Block root, Class<T> type) {
        Map<String, T> map = new LinkedHashMap<>();
        for (Node n : walk(root)) {
            if (type.isInstance(n.getBlock())) {
                map.put(n.getPath(), type.cast(n.getBlock()));
            }
        }
        return Collections.unmodifiableMap(map);
    }
}
