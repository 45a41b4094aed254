package io.github.lbpdjl.rewrite;

import java.util.Collections;
import java.util.List;

/**
 * What a rewrite did: the module paths it replaced, skipped and the patterns that matched nothing.
 */
public final class RewriteReport {

    private final List<String> replaced;
    private final List<String> skipped;
    private final List<String> unmatchedPatterns;

    RewriteReport(List<String> replaced, List<String> skipped, List<String> unmatchedPatterns) {
        this.replaced = Collections.unmodifiableList(replaced);
        this.skipped = Collections.unmodifiableList(skipped);
        this.unmatchedPatterns = Collections.unmodifiableList(unmatchedPatterns);
    }

    /**
     * @return paths of the modules replaced, e.g. {@code blocks.3.mlp.fc1}
     */
    public List<String> getReplaced() {
        return replaced;
    }

    /**
     * @return paths of matching modules left as they were (already rewritten)
     */
    public List<String> getSkipped() {
        return skipped;
    }

    /**
     * @return target patterns that matched no module
     */
    public List<String> getUnmatchedPatterns() {
        return unmatchedPatterns;
    }

    @Override
    public String toString() {
        return "replaced "
                + replaced.size()
                + " "
                + replaced
                + (skipped.isEmpty() ? "" : ", skipped " + skipped)
                + (unmatchedPatterns.isEmpty() ? "" : ", unmatched patterns " + unmatchedPatterns);
    }
}
