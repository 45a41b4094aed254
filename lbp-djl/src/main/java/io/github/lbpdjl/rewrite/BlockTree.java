package io.github.lbpdjl.rewrite;

import ai.djl.nn.Block;
import java.util.List;
import java.util.Map;

/**
 * Moved to {@link io.github.lbpdjl.modules.BlockTree}.
 *
 * @deprecated use {@link io.github.lbpdjl.modules.BlockTree}; this class goes in the next release
 */
@Deprecated
public final class BlockTree {

    private BlockTree() {}

    /**
     * @param root the root block
     * @return the modules, the root first with path ""
     * @deprecated use {@link io.github.lbpdjl.modules.BlockTree#walk(Block)}
     */
    @Deprecated
    public static List<io.github.lbpdjl.modules.BlockTree.Node> walk(Block root) {
        return io.github.lbpdjl.modules.BlockTree.walk(root);
    }

    /**
     * @param root the root block
     * @return path to block
     * @deprecated use {@link io.github.lbpdjl.modules.BlockTree#modules(Block)}
     */
    @Deprecated
    public static Map<String, Block> modules(Block root) {
        return io.github.lbpdjl.modules.BlockTree.modules(root);
    }

    /**
     * @param parent the parent
     * @param key the child's key
     * @param oldChild the child now there
     * @param newChild its replacement
     * @deprecated use {@link io.github.lbpdjl.modules.BlockTree#replaceChild}
     */
    @Deprecated
    public static void replaceChild(Block parent, String key, Block oldChild, Block newChild) {
        io.github.lbpdjl.modules.BlockTree.replaceChild(parent, key, oldChild, newChild);
    }

    /**
     * @param root the root
     * @param type the block type
     * @param <T> the type
     * @return path to block
     * @deprecated use {@link io.github.lbpdjl.modules.BlockTree#find(Block, Class)}
     */
    @Deprecated
    public static <T extends Block> Map<String, T> find(Block root, Class<T> type) {
        return io.github.lbpdjl.modules.BlockTree.find(root, type);
    }
}
