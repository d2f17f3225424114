package dev.bluegreen.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.regex.Pattern;

/** Host-name facts decided from the text alone: configuration loading never touches DNS. */
final class Hosts {

    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    private Hosts() {}

    /**
     * {@code localhost}, an address in 127.0.0.0/8, or {@code ::1} in any spelling. Other names are
     * treated as non-loopback even if they happen to resolve to a loopback address.
     */
    static boolean isLoopback(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        if (h.equals("localhost")) {
            return true;
        }
        if (!IPV4.matcher(h).matches() && !h.contains(":")) {
            return false;
        }
        try {
            // An IP literal: getByName parses it without a lookup.
            return InetAddress.getByName(h).isLoopbackAddress();
        } catch (UnknownHostException | SecurityException e) {
            return false;
        }
    }

    /** {@code host:port}, with an IPv6 literal in brackets so the result parses back. */
    static String join(String host, int port) {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
