package io.github.lbpdjl.examples.study;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import io.github.lbpdjl.modules.TokenGrid;
import io.github.lbpdjl.rewrite.TargetModules;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small vision transformer written with DJL's own blocks, not taken from the zoo: a 4x4 stride-4
 * {@link Conv2d} patch embedding of a 32x32 image (8x8 = 64 patch tokens), a class token and
 * position embedding ({@link TokenEmbedding}, 65 tokens), pre-norm transformer blocks of {@link
 * SequentialBlock}s, {@link ParallelBlock} residuals, {@link LayerNorm}s, {@link SelfAttention} and
 * a Linear-GELU-Linear MLP, and a head on the class token. It states its token grid ({@link
 * TokenGrid}: 1 prefix token, 8x8), so the rewriter needs no layout.
 *
 * <p>{@code SequentialBlock.add} names children by position, so the paths are positional: block i
 * is {@code (3+i)}, its attention {@code (3+i).0.0.1} with children {@code qkv} and {@code proj},
 * its MLP layers {@code (3+i).1.0.1} (fc1) and {@code (3+i).1.0.3} (fc2); the head is {@code 9} for
 * 4 blocks.
 */
public final class StudyVit extends SequentialBlock implements TokenGrid {

    /** Input side: Fashion-MNIST's 28x28 zero-padded by 2. */
    public static final int SIZE = 32;

    /** Side of the patch-token grid: 32 / 4. */
    public static final int GRID = 8;

    private static final Pattern MLP = Pattern.compile("\\d+\\.1\\.0\\.([13])");

    private final int depth;

    /**
     * Builds the model.
     *
     * @param dim the width C
     * @param depth the number of transformer blocks
     * @param heads attention heads
     * @param classes outputs of the head
     */
    public StudyVit(int dim, int depth, int heads, int classes) {
        this.depth = depth;
        add(
                Conv2d.builder()
                        .setKernelShape(new Shape(4, 4))
                        .optStride(new Shape(4, 4))
                        .setFilters(dim)
                        .build());
        // (B, C, 8, 8) -> (B, 64, C): tokens on the axis before the last
        add(LambdaBlock.singleton(x -> x.reshape(x.getShape().get(0), dim, -1).transpose(0, 2, 1)));
        add(new TokenEmbedding(GRID * GRID, dim));
        for (int i = 0; i < depth; i++) {
            add(transformerBlock(dim, heads));
        }
        add(norm());
        add(LambdaBlock.singleton(x -> x.get(":, 0, :"))); // the class token
        add(Linear.builder().setUnits(classes).build());
    }

    /**
     * @return the number of transformer blocks
     */
    public int getDepth() {
        return depth;
    }

    /**
     * @return the head's path
     */
    public String headPath() {
        return String.valueOf(3 + depth + 2);
    }

    @Override
    public int getNumPrefixTokens() {
        return 1;
    }

    @Override
    public int[] getGridSize() {
        return new int[] {GRID, GRID};
    }

    /**
     * Returns the kind of a token-wise linear layer from its path.
     *
     * @param path e.g. {@code 3.0.0.1.qkv} or {@code 4.1.0.3}
     * @return qkv, proj, fc1, fc2, or null for another module
     */
    public static String kindOf(String path) {
        if (path.endsWith(".qkv") || path.endsWith(".proj")) {
            return path.substring(path.lastIndexOf('.') + 1);
        }
        Matcher m = MLP.matcher(path);
        return m.matches() ? ("1".equals(m.group(1)) ? "fc1" : "fc2") : null;
    }

    /**
     * Returns the transformer block (0-based) of a layer path.
     *
     * @param path a path under a transformer block
     * @return the block index
     */
    public static int blockOf(String path) {
        return Integer.parseInt(path.substring(0, path.indexOf('.'))) - 3;
    }

    /**
     * The parameters of the patch and token embeddings, frozen in fine-tuning: the Conv2d at 0 and
     * the class token and position embedding at 2 (positional paths).
     *
     * @return the pattern
     */
    public static TargetModules embeddings() {
        return TargetModules.regex("[02]\\..*");
    }

    /** The MLP layers, by position (the MLP is a SequentialBlock: norm, fc1, GELU, fc2). */
    static TargetModules mlpLayers() {
        return TargetModules.regex(MLP.pattern());
    }

    private static Block transformerBlock(int dim, int heads) {
        Block attention = new SequentialBlock().add(norm()).add(new SelfAttention(dim, heads));
        Block mlp =
                new SequentialBlock()
                        .add(norm())
                        .add(Linear.builder().setUnits(4L * dim).build())
                        .add(Activation::gelu)
                        .add(Linear.builder().setUnits(dim).build());
        return new SequentialBlock().add(residual(attention)).add(residual(mlp));
    }

    private static Block residual(Block branch) {
        return new ParallelBlock(StudyVit::sum, List.of(branch, Blocks.identityBlock()));
    }

    private static NDList sum(List<NDList> outs) {
        NDArray branch = outs.get(0).singletonOrThrow();
        return new NDList(branch.add(outs.get(1).singletonOrThrow()));
    }

    private static LayerNorm norm() {
        return LayerNorm.builder().axis(2).build(); // the default normalises over (N, C)
    }
}
