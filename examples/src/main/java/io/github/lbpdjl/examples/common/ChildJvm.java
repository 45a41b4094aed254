package io.github.lbpdjl.examples.common;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Runs a program's main class in a child JVM of its own: the same Java, the same class path, the
 * DJL offline settings of this JVM. The class path is that of the class loader that loaded the main
 * class ({@link #classPath}), so that the child starts under {@code java -cp} and under {@code mvn
 * exec:java} alike (there, {@code java.class.path} is Maven's launcher, and the project's runtime
 * class path is the URLs of the loader exec:java made).
 */
public final class ChildJvm {

    /** System properties a child inherits when set here. */
    private static final List<String> INHERITED =
            List.of("ai.djl.offline", "OPT_OUT_TRACKING", "lbp.projection", "lbp.mxnet.backward");

    private final Class<?> mainClass;
    private final List<String> jvmOptions = new ArrayList<>();
    private final List<String> args = new ArrayList<>();
    private final Map<String, String> environment = new LinkedHashMap<>();

    private ChildJvm(Class<?> mainClass) {
        this.mainClass = mainClass;
    }

    /**
     * Starts describing a child JVM.
     *
     * @param mainClass the class whose main method the child runs
     * @return the description, without options or arguments
     */
    public static ChildJvm of(Class<?> mainClass) {
        return new ChildJvm(mainClass);
    }

    /**
     * Adds a JVM option, e.g. {@code -Xmx2g} or {@code -Dkey=value}.
     *
     * @param option the option
     * @return this
     */
    public ChildJvm jvmOption(String option) {
        jvmOptions.add(option);
        return this;
    }

    /**
     * Adds program arguments.
     *
     * @param more the arguments
     * @return this
     */
    public ChildJvm args(List<String> more) {
        args.addAll(more);
        return this;
    }

    /**
     * Sets an environment variable of the child (it inherits the others).
     *
     * @param key the name
     * @param value the value
     * @return this
     */
    public ChildJvm environment(String key, String value) {
        environment.put(key, value);
        return this;
    }

    /**
     * Returns the command line that starts the child.
     *
     * @return java, its options, the class path, the main class and the arguments
     */
    public List<String> command() {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String key : INHERITED) {
            String value = System.getProperty(key);
            if (value != null) {
                cmd.add("-D" + key + "=" + value);
            }
        }
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(classPath(mainClass));
        cmd.add(mainClass.getName());
        cmd.addAll(args);
        return cmd;
    }

    /**
     * Runs the child with this JVM's standard input, output and error, and waits for it.
     *
     * @return its exit code
     * @throws IOException if it cannot be started
     * @throws InterruptedException if interrupted while waiting
     */
    public int runInheritingIo() throws IOException, InterruptedException {
        ProcessBuilder pb = processBuilder().inheritIO();
        return pb.start().waitFor();
    }

    /**
     * Runs the child, handing each line of its output (standard output and error merged) to a
     * consumer, and waits for it.
     *
     * @param lines receives every line as it comes
     * @return the exit code and the last lines
     * @throws IOException if it cannot be started or read
     * @throws InterruptedException if interrupted while waiting
     */
    public Finished run(Consumer<String> lines) throws IOException, InterruptedException {
        Process p = start();
        List<String> tail = new ArrayList<>();
        try (BufferedReader r =
                new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                lines.accept(line);
                tail.add(line);
                if (tail.size() > Finished.TAIL) {
                    tail.remove(0);
                }
            }
        }
        return new Finished(p.waitFor(), tail);
    }

    /**
     * Starts the child without waiting for it, standard output and error merged into its input
     * stream: for a caller that watches it, and may kill it.
     *
     * @return the running process; read its input stream, or it may block on a full pipe
     * @throws IOException if it cannot be started
     */
    public Process start() throws IOException {
        return processBuilder().redirectErrorStream(true).start();
    }

    private ProcessBuilder processBuilder() {
        ProcessBuilder pb = new ProcessBuilder(command());
        pb.environment().putAll(environment);
        return pb;
    }

    /**
     * The class path a child needs to run a class: the file URLs of the URL class loaders from the
     * class's loader up to (not including) the system class loader (exec:java, an isolated test
     * class loader), or, for a class of the system class loader, {@code java.class.path}.
     *
     * @param c the class
     * @return the class path, entries joined by the path separator
     */
    public static String classPath(Class<?> c) {
        Set<String> entries = new LinkedHashSet<>();
        ClassLoader system = ClassLoader.getSystemClassLoader();
        for (ClassLoader l = c.getClassLoader();
                l != null && l != system && l != ClassLoader.getPlatformClassLoader();
                l = l.getParent()) {
            if (l instanceof URLClassLoader) {
                for (URL u : ((URLClassLoader) l).getURLs()) {
                    if ("file".equals(u.getProtocol())) {
                        entries.add(toPath(u));
                    }
                }
            }
        }
        return entries.isEmpty()
                ? System.getProperty("java.class.path")
                : String.join(File.pathSeparator, entries);
    }

    private static String toPath(URL u) {
        try {
            return Path.of(u.toURI()).toString();
        } catch (URISyntaxException | IllegalArgumentException e) {
            return u.getPath();
        }
    }

    /**
     * A child that has exited.
     *
     * @param exitCode its exit code
     * @param tail the last lines of its output, at most {@value #TAIL}
     */
    public record Finished(int exitCode, List<String> tail) {
        /** How many lines {@link #tail} keeps. */
        public static final int TAIL = 20;
    }
}
