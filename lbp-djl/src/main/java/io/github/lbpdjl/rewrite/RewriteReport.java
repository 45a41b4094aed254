package io.github.lbpdjl.rewrite;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a rewrite did: the module paths it replaced, skipped and the patterns that matched nothing.
 */
public final class RewriteReport {

    private final List<String> replaced;
    private final List<String> skipped;
    private final List<String> unmatchedPatterns;
    private final Map<String, String> leftOut;
    private final Map<String, List<String>> matches;

    RewriteReport(
            List<String> replaced,
            List<String> skipped,
            List<String> unmatchedPatterns,
            Map<String, String> leftOut,
            Map<String, List<String>> matches) {
        this.replaced = Collections.unmodifiableList(replaced);
        this.skipped = Collections.unmodifiableList(skipped);
        this.unmatchedPatterns = Collections.unmodifiableList(unmatchedPatterns);
        this.leftOut = Collections.unmodifiableMap(new LinkedHashMap<>(leftOut));
        this.matches = Collections.unmodifiableMap(new LinkedHashMap<>(matches));
    }

    /**
     * Returns which layers each target pattern matched (replaced or left out), the pattern that
     * matched a layer first taking it.
     *
     * @return pattern to layer paths, in model order; patterns that matched nothing are absent
     */
    public Map<String, List<String>> getMatches() {
        return matches;
    }

    /**
     * Returns every layer a target pattern matched that was not replaced, with the reason: already
     * adapted (e.g. "already LoraLinear"), excluded, the output layer of all-linear, under a module
     * trained fully, or of a kind the tuner does not adapt (a block with parameters of its own,
     * e.g. "a Conv2d, which LoRA does not adapt here").
     *
     * @return path to reason, in model order
     */
    public Map<String, String> getLeftOut() {
        return leftOut;
    }

    /**
     * @return paths of the modules replaced, e.g. {@code blocks.3.mlp.fc1}
     */
    public List<String> getReplaced() {
        return replaced;
    }

    /**
     * @return paths of matching modules left as they were because a tuner adapted them already
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
