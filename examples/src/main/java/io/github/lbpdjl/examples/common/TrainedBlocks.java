package io.github.lbpdjl.examples.common;

import java.util.ArrayList;
import java.util.List;

/**
 * Which of a ViT's blocks are trained ({@code --train-blocks}: 'all', or the last N), and the
 * regular expressions over module paths ({@code blocks.11.mlp.fc1}) that select them.
 */
public final class TrainedBlocks {

    /** After {@link #regex}: the linear layers of a block. */
    public static final String LINEARS = "\\.(attn\\.qkv|attn\\.proj|mlp\\.fc1|mlp\\.fc2)";

    private TrainedBlocks() {}

    /**
     * Returns the indices of the trained blocks.
     *
     * @param setting 'all', or the number of last blocks trained
     * @param depth the model's number of blocks
     * @param least the smallest number allowed
     * @return the indices of the last blocks, in order
     * @throws IllegalArgumentException if the setting is not 'all' or a number in least..depth
     */
    public static List<Integer> last(String setting, int depth, int least) {
        int n;
        try {
            n = setting.equals("all") ? depth : Integer.parseInt(setting);
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < least || n > depth) {
            throw new IllegalArgumentException(
                    "--train-blocks "
                            + setting
                            + ": need 'all' or "
                            + least
                            + ".."
                            + depth
                            + " (the model has "
                            + depth
                            + " blocks)");
        }
        List<Integer> out = new ArrayList<>();
        for (int i = depth - n; i < depth; i++) {
            out.add(i);
        }
        return out;
    }

    /**
     * A regular expression matching the paths of the given blocks, e.g. {@code blocks\.(10|11)};
     * append "\\." and a module path, or {@link #LINEARS}.
     *
     * @param blocks block indices
     * @return the expression
     */
    public static String regex(List<Integer> blocks) {
        StringBuilder sb = new StringBuilder("blocks\\.(");
        for (int i = 0; i < blocks.size(); i++) {
            sb.append(i == 0 ? "" : "|").append(blocks.get(i));
        }
        return sb.append(')').toString();
    }
}
