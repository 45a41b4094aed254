package io.github.lbpdjl.examples.common;

import java.io.IOException;

/**
 * Samples the process's resident set size (Linux /proc/self/status) every 20 ms; keeps the peak.
 */
public final class RssSampler {

    private volatile boolean running;
    private volatile long peakKb;
    private Thread thread;

    /** Starts sampling on a daemon thread. */
    public void start() {
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

    /**
     * Stops sampling and takes one last sample.
     *
     * @throws InterruptedException if interrupted while waiting for the sampling thread
     */
    public void stop() throws InterruptedException {
        running = false;
        thread.join();
        peakKb = Math.max(peakKb, readKb());
    }

    /**
     * Returns the peak seen.
     *
     * @return the peak RSS in MiB
     */
    public double peakMb() {
        return peakKb / 1024.0;
    }

    private static long readKb() {
        try {
            return Math.max(0, ProcMemory.statusKib("VmRSS"));
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }
}
