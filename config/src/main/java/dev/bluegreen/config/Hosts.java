package dev.bluegreen.config;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.Locale;
import java.util.regex.Pattern;

/** Host-name facts decided from the text alone: configuration loading never touches DNS. */
final class Hosts {

    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern DIGITS_AND_DOTS = Pattern.compile("[0-9.]+");
    /** Dot-separated labels of letters, digits, {@code -} and {@code _} (container names use it); IPv4 too. */
    private static final Pattern NAME = Pattern.compile("(?=.{1,254}$)[A-Za-z0-9_-]{1,63}(\\.[A-Za-z0-9_-]{1,63})*\\.?");
    /** The characters of an IPv6 literal and its zone; {@link #isValid} then checks the form. */
    private static final Pattern IPV6_CHARACTERS = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(%[A-Za-z0-9_.-]+)?");

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

    /**
     * Whether listeners on {@code a} and {@code b} with one port would take the same socket: the same host, or
     * a wildcard ({@code 0.0.0.0} takes every IPv4 address, {@code ::} every address, IPv4 too on Linux)
     * and an address it covers, or a wildcard and a name (which may stand for any address). Two different
     * names are taken to differ.
     */
    static boolean overlap(String a, String b) {
        if (a.equalsIgnoreCase(b)) {
            return true;
        }
        InetAddress first = literal(a);
        InetAddress second = literal(b);
        if (first == null || second == null) {
            // a name may stand for any address: a wildcard beside it takes its port too
            return (first != null && first.isAnyLocalAddress()) || (second != null && second.isAnyLocalAddress());
        }
        return first.equals(second) || covers(first, second) || covers(second, first);
    }

    private static boolean covers(InetAddress wildcard, InetAddress other) {
        if (!wildcard.isAnyLocalAddress()) {
            return false;
        }
        return wildcard instanceof Inet6Address || other instanceof Inet4Address;
    }

    /** An IP literal parsed without a lookup; null for a name. */
    private static InetAddress literal(String host) {
        if (!IPV4.matcher(host).matches() && !host.contains(":")) {
            return null;
        }
        try {
            return InetAddress.getByName(host);
        } catch (UnknownHostException | SecurityException e) {
            return null;
        }
    }

    /**
     * Whether {@code host} can be a cluster's host: a name (ASCII letters, digits, {@code -}, {@code _},
     * dots), an IPv4 address, or an IPv6 literal without brackets, with or without a zone. Anything
     * else, such as a port, a URL or a space, would only fail when a connection is opened.
     */
    static boolean isValid(String host) {
        if (DIGITS_AND_DOTS.matcher(host).matches()) {
            // an IPv4 address, or nothing: 256.300.1.1 or 10.1 would pass for a name, and Java's resolver
            // reads 10.1 and 123 as the shorthand addresses 10.0.0.1 and 0.0.0.123
            return IPV4.matcher(host).matches()
                    && Arrays.stream(host.split("\\.")).allMatch(octet -> Integer.parseInt(octet) <= 255);
        }
        if (NAME.matcher(host).matches()) {
            return true;
        }
        if (!IPV6_CHARACTERS.matcher(host).matches()) {
            return false;
        }
        try {
            // the URI parser checks an IPv6 literal's form (groups, "::" once, an IPv4 tail) without a lookup
            new URI("postgresql", null, "[" + host + "]", -1, null, null, null);
            return true;
        } catch (URISyntaxException e) {
            return false;
        }
    }

    /** {@code host:port}, with an IPv6 literal in brackets so the result parses back. */
    static String join(String host, int port) {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
