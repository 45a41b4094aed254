package io.github.lbpdjl.rewrite;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Which modules of a block tree a rewrite targets, by path (e.g. {@code blocks.3.mlp.fc1}), as
 * Hugging Face PEFT users know it:
 *
 * <ul>
 *   <li>{@link #names(String...)}: a module matches a name if its path equals it or ends with
 *       {@code "." + name} (PEFT's list semantics);
 *   <li>{@link #globs(String...)}: {@code *} matches within one path segment, {@code **} across
 *       segments;
 *   <li>{@link #regex(String)}: the whole path must match (PEFT's {@code re.fullmatch});
 *   <li>{@link #allLinear()}: every Linear layer (PEFT's {@code "all-linear"}); exclusions still
 *       apply.
 * </ul>
 *
 * Immutable and thread-safe.
 */
public final class TargetModules {

    /** How the patterns are read. */
    public enum Kind {
        /** Module names: a path equal to a name or ending in "." + name. */
        NAMES,
        /** Globs over the whole path. */
        GLOBS,
        /** One regular expression over the whole path. */
        REGEX,
        /** Every Linear layer (PEFT's "all-linear"). */
        ALL
    }

    private final Kind kind;
    private final List<String> patterns;
    private final List<Pattern> compiled;

    private TargetModules(Kind kind, List<String> patterns, List<Pattern> compiled) {
        this.kind = kind;
        this.patterns = Collections.unmodifiableList(patterns);
        this.compiled = compiled;
    }

    /**
     * Every Linear layer.
     *
     * @return the targets
     */
    public static TargetModules allLinear() {
        return new TargetModules(Kind.ALL, List.of("all-linear"), List.of());
    }

    /**
     * Modules whose path equals a name or ends with "." + name.
     *
     * @param names module names, e.g. "qkv", "fc1" or "blocks.0.attn.proj"
     * @return the targets
     */
    public static TargetModules names(String... names) {
        List<String> list = check(names, "names");
        List<Pattern> c = new ArrayList<>();
        for (String n : list) {
            c.add(Pattern.compile("(.*\\.)?" + escape(n)));
        }
        return new TargetModules(Kind.NAMES, list, c);
    }

    /**
     * Modules whose path matches a glob: {@code *} within a segment, {@code **} across segments,
     * {@code ?} one character.
     *
     * @param globs the globs, e.g. "blocks.*.mlp.*"
     * @return the targets
     */
    public static TargetModules globs(String... globs) {
        List<String> list = check(globs, "globs");
        List<Pattern> c = new ArrayList<>();
        for (String g : list) {
            c.add(Pattern.compile(globToRegex(g)));
        }
        return new TargetModules(Kind.GLOBS, list, c);
    }

    /**
     * Modules whose whole path matches a regular expression.
     *
     * @param regex the expression, e.g. {@code "blocks\\.(10|11)\\..*"}
     * @return the targets
     * @throws IllegalArgumentException if the expression does not compile
     */
    public static TargetModules regex(String regex) {
        Objects.requireNonNull(regex, "regex");
        try {
            return new TargetModules(Kind.REGEX, List.of(regex), List.of(Pattern.compile(regex)));
        } catch (java.util.regex.PatternSyntaxException e) {
            throw new IllegalArgumentException(
                    "invalid target regex '" + regex + "': " + e.getDescription(), e);
        }
    }

    /**
     * Parses a PEFT-style target string: "all-linear", a regex (if it contains any of {@code
     * ^$()[]|+\}), a glob (if it contains * or ?), else a comma-separated list of names.
     *
     * @param spec the string
     * @return the targets
     */
    public static TargetModules parse(String spec) {
        Objects.requireNonNull(spec, "spec");
        String s = spec.trim();
        if (s.equals("all-linear")) {
            return allLinear();
        }
        if (s.matches(".*[\\^$()\\[\\]|+\\\\].*")) {
            return regex(s);
        }
        String[] parts = s.split("\\s*,\\s*");
        if (s.contains("*") || s.contains("?")) {
            return globs(parts);
        }
        return names(parts);
    }

    /**
     * Whether a module path matches (for {@link #allLinear()}, every path does).
     *
     * @param path the module path
     * @return true if it matches
     */
    public boolean matches(String path) {
        return kind == Kind.ALL || matchingPattern(path) >= 0;
    }

    /**
     * Returns the index of the first pattern a path matches, or -1.
     *
     * @param path the module path
     * @return the pattern index, 0 for {@link #allLinear()}
     * @throws IllegalArgumentException if a regex backtracks catastrophically on the path (it may
     *     come from an adapter_config.json): more than {@value #MATCH_BUDGET} character reads
     */
    public int matchingPattern(String path) {
        if (kind == Kind.ALL) {
            return 0;
        }
        for (int i = 0; i < compiled.size(); i++) {
            if (compiled.get(i).matcher(new BudgetedChars(path, patterns.get(i))).matches()) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Character reads allowed for one match: far more than any sane pattern needs on a module path.
     */
    static final long MATCH_BUDGET = 1_000_000;

    /** A path that stops a match which reads it more than {@link #MATCH_BUDGET} times. */
    private static final class BudgetedChars implements CharSequence {
        private final String path;
        private final String pattern;
        private long reads;

        BudgetedChars(String path, String pattern) {
            this.path = path;
            this.pattern = pattern;
        }

        @Override
        public char charAt(int index) {
            if (++reads > MATCH_BUDGET) {
                throw new IllegalArgumentException(
                        "target pattern '"
                                + pattern
                                + "' takes too long to match '"
                                + path
                                + "' (catastrophic backtracking?)");
            }
            return path.charAt(index);
        }

        @Override
        public int length() {
            return path.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return path.subSequence(start, end);
        }

        @Override
        public String toString() {
            return path;
        }
    }

    /**
     * @return the patterns as given
     */
    public List<String> getPatterns() {
        return patterns;
    }

    /**
     * @return whether this is "all-linear"
     */
    public boolean isAllLinear() {
        return kind == Kind.ALL;
    }

    private static List<String> check(String[] values, String what) {
        if (values == null || values.length == 0) {
            throw new IllegalArgumentException("target " + what + " must not be empty");
        }
        for (String v : values) {
            if (v == null || v.isBlank()) {
                throw new IllegalArgumentException(
                        "target " + what + " contain an empty entry: " + Arrays.toString(values));
            }
        }
        return new ArrayList<>(Arrays.asList(values));
    }

    private static String globToRegex(String glob) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            if (c == '*') {
                if (i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
                    sb.append(".*");
                    i++;
                } else {
                    sb.append("[^.]*");
                }
            } else if (c == '?') {
                sb.append("[^.]");
            } else {
                sb.append(escape(String.valueOf(c)));
            }
        }
        return sb.toString();
    }

    /** Escapes every character but letters, digits and '_' with a backslash (Java and Python). */
    private static String escape(String literal) {
        StringBuilder sb = new StringBuilder();
        for (char c : literal.toCharArray()) {
            if (!(Character.isLetterOrDigit(c) && c < 128 || c == '_')) {
                sb.append('\\');
            }
            sb.append(c);
        }
        return sb.toString();
    }

    /**
     * Returns one regular expression that a whole path matches exactly when it matches these
     * targets, in the syntax Java and Python's {@code re} share, so that PEFT reads it as a
     * target_modules string ({@code re.fullmatch}): the names as {@code (.*\.)?(a|b)}, the globs as
     * alternatives, a regex as it is.
     *
     * @return the expression
     * @throws IllegalStateException for {@link #allLinear()}, which is no path pattern
     */
    public String toRegex() {
        switch (kind) {
            case REGEX:
                return patterns.get(0);
            case NAMES:
                List<String> names = new ArrayList<>();
                patterns.forEach(n -> names.add(escape(n)));
                return "(.*\\.)?(" + String.join("|", names) + ")";
            case GLOBS:
                List<String> globs = new ArrayList<>();
                patterns.forEach(g -> globs.add("(" + globToRegex(g) + ")"));
                return String.join("|", globs);
            default:
                throw new IllegalStateException("all-linear is no path pattern");
        }
    }

    /**
     * Returns how the patterns are read.
     *
     * @return the kind
     */
    public Kind getKind() {
        return kind;
    }

    /** Two targets are equal if they read the same patterns the same way. */
    @Override
    public boolean equals(Object o) {
        return o instanceof TargetModules
                && kind == ((TargetModules) o).kind
                && patterns.equals(((TargetModules) o).patterns);
    }

    @Override
    public int hashCode() {
        return 31 * kind.hashCode() + patterns.hashCode();
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(Locale.ROOT) + patterns;
    }
}
