package io.github.lbpdjl.zoo.vit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.github.lbpdjl.modules.BlockTree;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A composite block whose children carry timm module names ({@code "qkv"}, {@code "proj"}, {@code
 * "0"}, ...), and which can swap a child in place.
 *
 * <p>The single source of truth for a child is the protected {@link #children} BlockList: the
 * forward pass of every subclass reads its children from there (via {@link #child(int)}), and
 * {@link BlockTree} reads and replaces them there too, so a block put in with {@link
 * #replaceChild(String, Block)} or {@link BlockTree#replaceChild} is the one used by the next
 * forward. {@link BlockTree} names each child by its timm name (the key without its order digits).
 * The DJL key ({@code "%02d" + name}) and the order are kept, so a model saved as .params before a
 * replacement has the same structure after it (as long as the new block has the same parameter
 * layout, e.g. a subclass of Linear).
 *
 * <p>A replaced block is not initialised by this class: initialise it yourself (with the model's
 * NDManager) or replace an already initialised block.
 */
public abstract class TimmBlock extends AbstractBlock {

    private final List<String> childNames = new ArrayList<>();

    /** Creates a block with version 1. */
    protected TimmBlock() {
        super((byte) 1);
    }

    /**
     * Adds a child under its timm name.
     *
     * @param timmName the timm name of the child, e.g. "qkv"
     * @param block the child
     * @param <B> the block type
     * @return the child
     */
    protected final <B extends Block> B addTimmChild(String timmName, B block) {
        Objects.requireNonNull(block, "block");
        if (childNames.contains(timmName)) {
            throw new IllegalArgumentException("duplicate child name: " + timmName);
        }
        // BlockTree names a child by its key without the order digits, or by its position when
        // that is empty or a class name: a timm name must read back as itself
        boolean positional = timmName.equals(Integer.toString(childNames.size()));
        if (!positional && (timmName.isEmpty() || Character.isDigit(timmName.charAt(0)))) {
            throw new IllegalArgumentException(
                    "child name '" + timmName + "' may start with a digit only as its position");
        }
        for (Class<?> c = block.getClass(); c != null && !positional; c = c.getSuperclass()) {
            if (timmName.equals(c.getSimpleName())) {
                throw new IllegalArgumentException(
                        "child name '" + timmName + "' is a class name of the child");
            }
        }
        childNames.add(timmName);
        return addChildBlock(timmName, block);
    }

    /**
     * The output shapes of the children run one after the other, each on the last's output.
     *
     * @param inputShapes the shapes of the first child's input
     * @return the shapes of the last child's output
     */
    protected final Shape[] chainedOutputShapes(Shape[] inputShapes) {
        Shape[] s = inputShapes;
        for (int i = 0; i < children.size(); i++) {
            s = child(i).getOutputShapes(s);
        }
        return s;
    }

    /**
     * Initialises the children run one after the other, each at the last's output shapes.
     *
     * @param manager the manager of the parameters
     * @param dataType their data type
     * @param inputShapes the shapes of the first child's input
     */
    protected final void initializeChained(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape[] s = inputShapes;
        for (int i = 0; i < children.size(); i++) {
            child(i).initialize(manager, dataType, s);
            s = child(i).getOutputShapes(s);
        }
    }

    /**
     * Returns the child at a position, as read by the forward pass.
     *
     * @param index the position in the order the children were added
     * @return the current child
     */
    protected final Block child(int index) {
        return children.valueAt(index);
    }

    /**
     * Runs the child at a position on one array and returns its one output.
     *
     * @param index the position of the child
     * @param parameterStore the parameter store
     * @param x the input
     * @param training whether this is a training pass
     * @param params extra parameters
     * @return the child's output
     */
    protected final NDArray forwardChild(
            int index,
            ParameterStore parameterStore,
            NDArray x,
            boolean training,
            PairList<String, Object> params) {
        return child(index)
                .forward(parameterStore, new NDList(x), training, params)
                .singletonOrThrow();
    }

    /**
     * Returns the timm names of the children, in order.
     *
     * @return an unmodifiable list of names
     */
    public List<String> getChildNames() {
        return Collections.unmodifiableList(childNames);
    }

    /**
     * Returns a direct child by its timm name.
     *
     * @param timmName the timm name, e.g. "qkv"
     * @return the child
     * @throws IllegalArgumentException if there is no such child
     */
    public Block getChild(String timmName) {
        return children.valueAt(indexOf(timmName));
    }

    /**
     * Replaces a direct child, keeping its DJL key and its position; the next forward uses the new
     * block. The new block must accept the same input and give an output of the same shape.
     *
     * @param timmName the timm name, e.g. "qkv"
     * @param newBlock the new child
     * @return the child that was replaced
     * @throws IllegalArgumentException if there is no such child
     */
    public Block replaceChild(String timmName, Block newBlock) {
        Objects.requireNonNull(newBlock, "newBlock");
        int index = indexOf(timmName);
        Block old = children.valueAt(index);
        BlockTree.replaceChild(this, children.keyAt(index), old, newBlock);
        return old;
    }

    private int indexOf(String timmName) {
        int index = childNames.indexOf(timmName);
        if (index < 0) {
            throw new IllegalArgumentException(
                    getClass().getSimpleName()
                            + " has no child named '"
                            + timmName
                            + "'; children: "
                            + childNames);
        }
        String expected = String.format(Locale.ROOT, "%02d%s", index + 1, timmName);
        if (!expected.equals(children.keyAt(index))) {
            throw new IllegalStateException(
                    "children of " + getClass().getSimpleName() + " were changed behind its back");
        }
        return index;
    }
}
