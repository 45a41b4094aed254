package io.github.lbpdjl.examples.common;

/** Puts DJL in offline mode unless the user chose otherwise: nothing is downloaded. */
public final class Offline {

    private Offline() {}

    /** Sets {@code ai.djl.offline=true} and opts out of tracking unless already set. */
    public static void ensure() {
        if (System.getProperty("ai.djl.offline") == null && System.getenv("DJL_OFFLINE") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        if (System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
    }
}
