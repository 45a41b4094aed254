package io.github.lbpdjl.examples.common;

import java.util.Arrays;

/** The statistic every benchmark here reports. */
public final class Medians {

    private Medians() {}

    /**
     * Returns the median of the values (the mean of the middle two for an even count).
     *
     * @param values the values, not changed
     * @return their median
     */
    public static double of(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
