package io.github.lbpdjl.examples.adapt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;

/** Samples the process's resident set size (Linux /proc/self/status) every 20 ms; keeps the peak. */
final class RssSampler {

    private volatile boolean running;
    private volatile long peakKb;
    private Thread thread;

    void start() {
        peakKb = readKb();
        running = true;
        thread = new Thread(() -> {
            while (running) {
                peakKb = Math.max(peakKb, readKb());
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "rss-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    void stop() throws InterruptedException {
        running = false;
        thread.join();
        peakKb = Math.max(peakKb, readKb());
    }

    double peakMb() {
        return peakKb / 1024.0;
    }

    static long readKb() {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }
}
