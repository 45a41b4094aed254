package io.github.lbpdjl.testing;

import static org.junit.jupiter.api.Assertions.fail;

/** Tolerance checks: max |a - b| &lt;= tol * max(1, max |b|). */
public final class Close {

    private Close() {}

    public static void assertClose(double[][][] a, double[][][] b, double tol, String what) {
        double maxDiff = 0;
        double maxRef = 1;
        for (int i = 0; i < b.length; i++) {
            for (int j = 0; j < b[i].length; j++) {
                for (int k = 0; k < b[i][j].length; k++) {
                    maxDiff = Math.max(maxDiff, Math.abs(a[i][j][k] - b[i][j][k]));
                    maxRef = Math.max(maxRef, Math.abs(b[i][j][k]));
                }
            }
        }
        if (maxDiff > tol * maxRef) {
            fail(what + ": max difference " + maxDiff + " exceeds " + tol + " * " + maxRef);
        }
    }

    public static void assertClose(double[][] a, double[][] b, double tol, String what) {
        assertClose(new double[][][] {a}, new double[][][] {b}, tol, what);
    }

    public static void assertClose(double[] a, double[] b, double tol, String what) {
        assertClose(new double[][][] {{a}}, new double[][][] {{b}}, tol, what);
    }
}
