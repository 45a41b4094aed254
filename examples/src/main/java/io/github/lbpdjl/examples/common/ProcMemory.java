package io.github.lbpdjl.examples.common;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's memory as Linux reports it in /proc/self: resident set, its peak, resetting the
 * peak.
 */
public final class ProcMemory {

    private ProcMemory() {}

    /**
     * Reads a field of /proc/self/status given in kB, e.g. {@code VmRSS} or {@code VmHWM} (peak).
     *
     * @param key the field name without the colon
     * @return its value in KiB, or -1 if the field is not there
     * @throws IOException if the file cannot be read (not Linux)
     */
    public static long statusKib(String key) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(key + ":")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    /**
     * Resets VmHWM to the current RSS (writes 5 to /proc/self/clear_refs); best effort.
     *
     * @return whether it worked; if not, a later peak includes what came before
     */
    public static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | SecurityException e) {
            return false;
        }
    }
}
