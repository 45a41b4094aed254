package io.github.lbpdjl.examples.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Children started through {@link ChildJvm} run, under a plain class path and under exec:java. */
class ChildJvmTest {

    /** The child's program: prints its arguments and the offline setting; exits with args[0]. */
    public static final class Hello {
        private Hello() {}

        /**
         * Prints a line and exits.
         *
         * @param args the exit code, then anything
         */
        public static void main(String[] args) {
            System.out.println(
                    "hello from the child: "
                            + String.join(" ", args)
                            + "; offline="
                            + System.getProperty("ai.djl.offline"));
            System.exit(Integer.parseInt(args[0]));
        }
    }

    @Test
    void runsAChildAndReadsItsOutput() throws Exception {
        List<String> lines = new ArrayList<>();
        ChildJvm.Finished done =
                ChildJvm.of(Hello.class)
                        .args(List.of("0", "a", "b c"))
                        .environment("SOME_VARIABLE", "1")
                        .run(lines::add);
        assertEquals(0, done.exitCode(), String.join("\n", done.tail()));
        assertTrue(
                lines.contains("hello from the child: 0 a b c; offline=true"),
                String.join("\n", lines));
        assertEquals(lines.subList(Math.max(0, lines.size() - 20), lines.size()), done.tail());
    }

    @Test
    void passesTheLibrarysSwitchesOn() {
        String before = System.getProperty("lbp.mxnet.backward");
        System.setProperty("lbp.mxnet.backward", "surrogate");
        try {
            List<String> cmd = ChildJvm.of(Hello.class).command();
            assertTrue(cmd.contains("-Dlbp.mxnet.backward=surrogate"), cmd.toString());
        } finally {
            if (before == null) {
                System.clearProperty("lbp.mxnet.backward");
            } else {
                System.setProperty("lbp.mxnet.backward", before);
            }
        }
    }

    @Test
    void reportsTheExitCode() throws Exception {
        List<String> lines = new ArrayList<>();
        ChildJvm.Finished done = ChildJvm.of(Hello.class).args(List.of("3")).run(lines::add);
        assertEquals(3, done.exitCode(), String.join("\n", lines));
        assertTrue(
                lines.stream().anyMatch(l -> l.startsWith("hello from the child: 3")),
                String.join("\n", lines));
    }

    /**
     * As under {@code mvn exec:java}: the main class comes from a URL class loader whose URLs, not
     * {@code java.class.path}, are the program's class path.
     */
    @Test
    void takesTheClassPathOfAUrlClassLoader() throws Exception {
        URL classes = Hello.class.getProtectionDomain().getCodeSource().getLocation();
        try (URLClassLoader loader =
                new URLClassLoader(new URL[] {classes}, ClassLoader.getPlatformClassLoader())) {
            Class<?> main = loader.loadClass(Hello.class.getName());
            assertEquals(loader, main.getClassLoader());
            assertEquals(Path.of(classes.toURI()).toString(), ChildJvm.classPath(main));
            List<String> lines = new ArrayList<>();
            ChildJvm.Finished done =
                    ChildJvm.of(main).args(List.of("0", "isolated")).run(lines::add);
            assertEquals(0, done.exitCode(), String.join("\n", lines));
            assertTrue(
                    lines.stream().anyMatch(l -> l.startsWith("hello from the child: 0 isolated")),
                    String.join("\n", lines));
        }
    }

    @Test
    void takesJavaClassPathForTheSystemClassLoader() {
        assertEquals(System.getProperty("java.class.path"), ChildJvm.classPath(String.class));
    }
}
