package dev.bluegreen.proxy.dualwrite;

/** Text a client sent (SQL, a name), made safe for one line of a log: control characters replaced, length capped. */
public final class OneLine {

    private OneLine() {}

    /** {@code s} with each control character as {@code ?}, cut after {@code max} characters (then {@code …}). */
    public static String of(String s, int max) {
        if (s == null) {
            return null;
        }
        StringBuilder out = new StringBuilder(Math.min(s.length(), max));
        for (int i = 0; i < s.length() && out.length() < max; i++) {
            char c = s.charAt(i);
            out.append(Character.isISOControl(c) ? '?' : c);
        }
        if (s.length() > max) {
            out.append('…');
        }
        return out.toString();
    }
}
