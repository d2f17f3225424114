package dev.bluegreen.config;

import java.util.Objects;

/**
 * A listening or connecting address. The host is kept as written (a name or an IP literal,
 * IPv6 without brackets); port 0 on a listener asks the operating system for a free port.
 */
public record HostPort(String host, int port) {

    public HostPort {
        Objects.requireNonNull(host, "host");
        if (host.isEmpty()) {
            throw new IllegalArgumentException("host must not be empty");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be between 0 and 65535");
        }
    }

    /** Whether this is {@code localhost}, 127.0.0.0/8 or {@code ::1} (decided without DNS). */
    public boolean isLoopback() {
        return Hosts.isLoopback(host);
    }

    /**
     * Parses {@code host:port}, {@code [ipv6]:port}.
     *
     * @throws IllegalArgumentException with the message {@code expected HOST:PORT, got "..."}
     */
    public static HostPort parse(String s) {
        Objects.requireNonNull(s, "s");
        String text = s.trim();
        String host;
        String port;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0 || close + 1 >= text.length() || text.charAt(close + 1) != ':') {
                throw malformed(s);
            }
            host = text.substring(1, close);
            port = text.substring(close + 2);
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0 || text.indexOf(':') != colon) {
                // no port, or an IPv6 literal without brackets: ambiguous
                throw malformed(s);
            }
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
        }
        if (host.isEmpty() || !port.matches("\\d{1,5}")) {
            throw malformed(s);
        }
        int number = Integer.parseInt(port);
        if (number > 65535) {
            throw new IllegalArgumentException("port must be between 0 and 65535, got " + number);
        }
        return new HostPort(host, number);
    }

    private static IllegalArgumentException malformed(String s) {
        return new IllegalArgumentException("expected HOST:PORT, got \"" + s + "\"");
    }

    /** {@code host:port}, with an IPv6 host in brackets ({@code [::1]:6432}). */
    @Override
    public String toString() {
        return Hosts.join(host, port);
    }
}
