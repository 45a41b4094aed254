package io.github.lbpdjl.examples.adapt;

import io.github.lbpdjl.examples.ProcMemory;
import java.io.IOException;

/**
 * Samples the process's resident set size (Linux /proc/self/status) every 20 ms; keeps the peak.
 */
final class RssSampler {

    private volatile boolean running;
    private volatile long peakKb;
    private Thread thread;

    void start() {
        peakKb = readKb();
        running = true;
        thread =
                new Thread(
                        () -> {
                            while (running) {
                                peakKb = Math.max(peakKb, readKb());
                                try {
                                    Thread.sleep(20);
                                } catch (InterruptedException e) {
                                    return;
                                }
                            }
                        },
                        "rss-sampler");
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
            return Math.max(0, ProcMemory.statusKib("VmRSS"));
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }
}
