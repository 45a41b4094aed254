package io.github.lbpdjl.examples.adapt;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/**
 * A program run in-process through its picocli command line: the exit code and what it wrote.
 *
 * @param exitCode the exit code
 * @param out what it wrote to its standard output
 * @param err what it wrote to its error output
 */
record CliRun(int exitCode, String out, String err) {

    /**
     * Runs a command line, capturing its own output and error writers.
     *
     * @param cmd the command line, e.g. {@code Adapt.commandLine()}
     * @param args its arguments
     * @return the run
     */
    static CliRun of(CommandLine cmd, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int rc = cmd.execute(args);
        return new CliRun(rc, out.toString(), err.toString());
    }

    /**
     * Runs a command line whose program writes its progress to {@code System.out}, which is
     * captured as the output instead of the command line's writer.
     *
     * @param cmd the command line
     * @param args its arguments
     * @return the run
     */
    static CliRun ofSystemOut(CommandLine cmd, String... args) {
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err, true));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        int rc;
        System.setOut(new PrintStream(out, true));
        try {
            rc = cmd.execute(args);
        } finally {
            System.setOut(old);
        }
        return new CliRun(rc, out.toString(), err.toString());
    }

    @Override
    public String toString() {
        return "exit " + exitCode + "\nout: " + out + "\nerr: " + err;
    }
}
