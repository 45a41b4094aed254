package io.github.lbpdjl.examples.adapt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every bad option value is refused before any data is read: one line naming the option and the
 * value, exit code 2, no stack trace. The program runs in-process through its picocli command line
 * with captured output; --data is an empty folder, so a run that got as far as reading data would
 * fail there instead, with another message.
 */
class AdaptOptionsTest {

    /** Option, value, and the value as the message shows it (a list's bad element). */
    static Stream<Arguments> badValues() {
        return Stream.of(
                Arguments.of("--batch", "0", "0"),
                Arguments.of("--train-blocks", "abc", "abc"),
                Arguments.of("--train-blocks", "9", "9"),
                Arguments.of("--model", "bogus", "bogus"),
                Arguments.of("--methods", "lbp-l1-0", "lbp-l1-0"),
                Arguments.of("--methods", "full,nonsense", "nonsense"),
                Arguments.of("--methods", "full,full", "full"),
                Arguments.of("--engine", "Foo", "Foo"),
                Arguments.of("--train-size", "-5", "-5"),
                Arguments.of("--test-size", "-1", "-1"),
                Arguments.of("--epochs", "0", "0"),
                Arguments.of("--epochs", "two", "two"),
                Arguments.of("--lr", "0", "0.0"),
                Arguments.of("--pretrained", "imagenet", "imagenet"),
                Arguments.of("--format", "png", "png"),
                Arguments.of("--weights", "no-such-file.safetensors", "no-such-file.safetensors"),
                Arguments.of("--out", "A_FILE", "A_FILE"),
                Arguments.of("--data", "x.gz,y", "x.gz,y"),
                Arguments.of("--test-fraction", "1.5", "1.5"),
                Arguments.of("--checkpoint-every", "-1", "-1"));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("badValues")
    void aBadValueIsOneLineNamingTheOptionAndNoStackTrace(
            String option, String value, String shown, @TempDir Path tmp) throws Exception {
        Path data = Files.createDirectories(tmp.resolve("empty-data"));
        Path out = tmp.resolve("out");
        if (value.equals("A_FILE")) {
            out = Files.writeString(tmp.resolve("a-file"), "earlier results");
            value = out.toString();
            shown = value;
        }
        List<String> args = new ArrayList<>();
        if (!option.equals("--data")) {
            args.addAll(List.of("--data", data.toString()));
        }
        if (!option.equals("--pretrained")) {
            args.addAll(List.of("--pretrained", "none"));
        }
        if (!option.equals("--out")) {
            args.addAll(List.of("--out", out.toString()));
        }
        args.addAll(List.of(option, value));
        CliRun run = CliRun.of(Adapt.commandLine(), args.toArray(new String[0]));
        assertEquals(2, run.exitCode(), run.toString());
        String first = run.err().lines().findFirst().orElse("");
        assertTrue(
                first.startsWith("Invalid value for option '" + option + "': '" + shown + "' "),
                "names the option and the value: " + run);
        assertTrue(run.err().lines().count() <= 2, "one line and a hint: " + run);
        assertFalse(
                run.err().contains("\tat ") || run.err().contains("Exception"),
                "no stack trace: " + run);
        if (option.equals("--out")) {
            assertEquals("earlier results", Files.readString(out), "the file is left alone");
        } else {
            assertFalse(Files.exists(out), "nothing written: " + run);
        }
    }

    /**
     * The control: with good values the same run reads the empty data folder and fails there, with
     * an I/O error, one line, no stack trace. So the refusals above came before any data was read.
     */
    @Test
    void withGoodValuesTheRunFailsOnTheEmptyDataFolder(@TempDir Path tmp) throws Exception {
        Path data = Files.createDirectories(tmp.resolve("empty-data"));
        CliRun run =
                CliRun.of(
                        Adapt.commandLine(),
                        "--data",
                        data.toString(),
                        "--pretrained",
                        "none",
                        "--out",
                        tmp.resolve("out").toString());
        assertEquals(1, run.exitCode(), run.toString());
        assertTrue(run.err().startsWith("adapt: "), "an I/O error, one line: " + run);
        assertTrue(run.err().contains(data.toString()), "naming the folder: " + run);
        assertFalse(run.err().contains("\tat "), "no stack trace: " + run);
    }
}
