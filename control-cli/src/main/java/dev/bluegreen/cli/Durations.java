package dev.bluegreen.cli;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Bake times as an operator writes them ({@code 90s}, {@code 5m}, {@code 1h}, {@code 1m30s}, or a bare
 * number of seconds) and as bgctl prints them (the same form, largest unit first). Whole seconds only:
 * the proxy takes {@code bakeSeconds} as a whole number.
 */
final class Durations {

    /** The proxy's limit for {@code bakeSeconds}. */
    static final long MAX_SECONDS = 24 * 3600;

    private static final Pattern BARE = Pattern.compile("\\d+");
    private static final Pattern UNITS = Pattern.compile("(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?");

    private Durations() {}

    /**
     * @return whole seconds, 0 to {@link #MAX_SECONDS}
     * @throws IllegalArgumentException saying what is wrong with {@code text}, for a usage error
     */
    static long parseSeconds(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        long seconds;
        try {
            if (BARE.matcher(t).matches()) {
                seconds = Long.parseLong(t);
            } else {
                Matcher m = UNITS.matcher(t);
                if (t.isEmpty() || !m.matches()) {
                    throw new IllegalArgumentException("'" + text + "' is not a duration: write it like 90s, 5m, "
                            + "1h, 1m30s or a number of seconds");
                }
                seconds = Math.addExact(Math.addExact(
                        Math.multiplyExact(part(m, 1), 3600L), Math.multiplyExact(part(m, 2), 60L)), part(m, 3));
            }
        } catch (NumberFormatException | ArithmeticException tooLarge) {
            seconds = Long.MAX_VALUE;
        }
        if (seconds > MAX_SECONDS) {
            throw new IllegalArgumentException("'" + text + "' is longer than the proxy allows (24h at most)");
        }
        return seconds;
    }

    private static long part(Matcher m, int group) {
        return m.group(group) == null ? 0 : Long.parseLong(m.group(group));
    }

    /** {@code 0s}, {@code 45s}, {@code 2m10s}, {@code 5m}, {@code 1h30m}. */
    static String format(long seconds) {
        if (seconds <= 0) {
            return "0s";
        }
        StringBuilder out = new StringBuilder();
        long h = seconds / 3600;
        long m = seconds % 3600 / 60;
        long s = seconds % 60;
        if (h > 0) {
            out.append(h).append('h');
        }
        if (m > 0) {
            out.append(m).append('m');
        }
        if (s > 0) {
            out.append(s).append('s');
        }
        return out.toString();
    }
}
