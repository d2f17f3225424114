package dev.bluegreen.config;

import java.io.ByteArrayOutputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * Reads a libpq-style connection URL,
 * {@code postgresql://[user[:password]@]host[:port][/database][?sslmode=...&sslrootcert=...&channel_binding=...]}
 * ({@code postgres://} too), into a {@link Cluster}. User, password, host and database are
 * percent-decoded. Only one host, and only the {@code sslmode}, {@code sslrootcert} and {@code channel_binding}
 * parameters, are supported; {@code sslmode} takes the four modes of {@link TlsMode}. Messages never repeat
 * the URL, nor any part of it that may be a password: an {@code @} after the host (a password holding
 * an unencoded {@code /} or {@code ?}) is refused without trying to read the parts it would misplace.
 */
public final class ClusterUrl {

    private ClusterUrl() {}

    /**
     * The cluster named {@code name} ({@code blue}, {@code green}) at {@code url}, with the usual
     * defaults (port 5432, TLS {@code verify-full} unless the host is loopback).
     *
     * @throws ConfigException listing every problem with the URL, each at path {@code name}
     */
    public static Cluster parse(String name, String url) throws ConfigException {
        Problems problems = new Problems();
        ClusterDraft draft = new ClusterDraft();
        Cluster cluster = null;
        if (read(url, null, name, draft, problems)) {
            cluster = draft.build(name, problems).orElse(null);
        }
        problems.throwIfAny();
        return cluster;
    }

    /**
     * Fills {@code into} from {@code url}, reporting problems at {@code path}. Returns false when
     * nothing usable was read (then at least one problem was recorded).
     *
     * @param reference the {@code ${env:...}}/{@code ${file:...}} the URL came from, or null when it was
     *     written out; messages then name that reference instead of showing any part of the URL
     */
    static boolean read(String url, String reference, String path, ClusterDraft into, Problems problems) {
        int before = problems.size();
        String lower = url.toLowerCase(Locale.ROOT);
        String rest;
        if (lower.startsWith("postgresql://")) {
            rest = url.substring("postgresql://".length());
        } else if (lower.startsWith("postgres://")) {
            rest = url.substring("postgres://".length());
        } else {
            problems.add(path, "not a postgresql:// URL");
            return false;
        }

        int authorityEnd = indexOfAny(rest, "/?", 0);
        String authority = authorityEnd < 0 ? rest : rest.substring(0, authorityEnd);
        String afterAuthority = authorityEnd < 0 ? "" : rest.substring(authorityEnd);
        if (afterAuthority.indexOf('@') >= 0) {
            // A password holding / or ? cut the authority short, so part of it would be read as host, port or
            // database (postgresql://app:1234/abc@db/app as host "app", port 1234). Nothing of it is shown.
            problems.add(path, "an @ after the host: percent-encode / ? # and @ in the user name and password"
                    + " (%2F %3F %23 %40), as in any URL, and an @ in the database name or a parameter (%40)");
            return false;
        }

        int at = authority.lastIndexOf('@');
        if (at >= 0) {
            readUserInfo(authority.substring(0, at), path, into, problems);
            authority = authority.substring(at + 1);
        }
        readHostPort(authority, path, into, problems);

        String pathPart = afterAuthority;
        String query = "";
        int q = afterAuthority.indexOf('?');
        if (q >= 0) {
            pathPart = afterAuthority.substring(0, q);
            query = afterAuthority.substring(q + 1);
        }
        if (pathPart.startsWith("/") && pathPart.length() > 1) {
            decode(pathPart.substring(1), "database", path, problems).ifPresent(db -> into.database = db);
        }
        readQuery(query, reference, path, into, problems);
        return problems.size() == before;
    }

    private static void readUserInfo(String userInfo, String path, ClusterDraft into, Problems problems) {
        int colon = userInfo.indexOf(':');
        String user = colon < 0 ? userInfo : userInfo.substring(0, colon);
        if (!user.isEmpty()) {
            decode(user, "user name", path, problems).ifPresent(u -> into.user = u);
        }
        if (colon >= 0 && colon + 1 < userInfo.length()) {
            decode(userInfo.substring(colon + 1), "password", path, problems)
                    .ifPresent(p -> into.password = Secret.of(p));
        }
    }

    private static void readHostPort(String hostPort, String path, ClusterDraft into, Problems problems) {
        if (hostPort.contains(",")) {
            problems.add(path, "several hosts are not supported; give one host");
            return;
        }
        String host;
        String port = null;
        if (hostPort.startsWith("[")) {
            int close = hostPort.indexOf(']');
            if (close < 0) {
                problems.add(path, "unclosed [ in the host");
                return;
            }
            // an IPv6 zone is written %25 in a URL (RFC 6874): decoded like the rest, as libpq does
            host = decode(hostPort.substring(1, close), "host", path, problems).orElse(null);
            if (host == null) {
                return;
            }
            String tail = hostPort.substring(close + 1);
            if (tail.startsWith(":")) {
                port = tail.substring(1);
            } else if (!tail.isEmpty()) {
                problems.add(path, "unexpected text after the host");
                return;
            }
        } else {
            int colon = hostPort.indexOf(':');
            host = colon < 0 ? hostPort : hostPort.substring(0, colon);
            port = colon < 0 ? null : hostPort.substring(colon + 1);
            host = decode(host, "host", path, problems).orElse(null);
            if (host == null) {
                return;
            }
        }
        if (host.isEmpty()) {
            problems.add(path, "a host is required (Unix sockets are not supported)");
        } else if (!Hosts.isValid(host)) {
            problems.add(path, "the host is not a host name or IP address");
        } else {
            into.host = host;
        }
        if (port != null) {
            if (!port.matches("\\d{1,5}")) {
                // not shown: in postgresql://user:password/db, without the @host, the password is the port
                problems.add(path, "the port is not a number");
            } else if (Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
                problems.add(path, "port must be between 1 and 65535");
            } else {
                into.port = Integer.parseInt(port);
            }
        }
    }

    private static void readQuery(String query, String reference, String path, ClusterDraft into, Problems problems) {
        if (query.isEmpty()) {
            return;
        }
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            String rawValue = eq < 0 ? "" : pair.substring(eq + 1);
            String value = decode(rawValue, "parameter " + key, path, problems).orElse(null);
            if (value == null) {
                continue;
            }
            switch (key) {
                case "sslmode" -> {
                    try {
                        into.tlsMode(TlsMode.parse(value), path, "sslmode ");
                    } catch (IllegalArgumentException e) {
                        problems.add(path, "unknown sslmode " + shown(value, reference)
                                + " (expected disable, require, verify-ca or verify-full)");
                    }
                }
                case "sslrootcert" -> {
                    if (value.isEmpty()) {
                        problems.add(path, "sslrootcert must not be empty");
                        continue;
                    }
                    try {
                        into.caFile(Path.of(value), path, "sslrootcert ",
                                reference == null ? value : "in " + reference);
                    } catch (InvalidPathException e) {
                        problems.add(path, "sslrootcert is not a valid path");
                    }
                }
                case "channel_binding" -> {
                    try {
                        into.channelBinding(ChannelBinding.parse(value), path, "channel_binding ");
                    } catch (IllegalArgumentException e) {
                        problems.add(path, "unknown channel_binding " + shown(value, reference)
                                + " (expected disable, prefer or require)");
                    }
                }
                default -> problems.add(path, "unknown parameter " + shown(key, reference)
                        + " (supported: sslmode, sslrootcert, channel_binding)");
            }
        }
    }

    /** A part of the URL, quoted, or where it is when the URL came from a reference. */
    private static String shown(String part, String reference) {
        return reference == null ? "\"" + part + "\"" : "in " + reference;
    }

    private static int indexOfAny(String s, String chars, int from) {
        for (int i = from; i < s.length(); i++) {
            if (chars.indexOf(s.charAt(i)) >= 0) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Percent-decodes {@code s} as UTF-8 ({@code +} stays a plus, as in a URI). A bad escape is
     * reported by naming the part ({@code password}), never by showing it.
     */
    static Optional<String> decode(String s, String what, String path, Problems problems) {
        if (s.indexOf('%') < 0) {
            return Optional.of(s);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                int hi = i + 1 < s.length() ? Character.digit(s.charAt(i + 1), 16) : -1;
                int lo = i + 2 < s.length() ? Character.digit(s.charAt(i + 2), 16) : -1;
                if (hi < 0 || lo < 0) {
                    problems.add(path, "bad percent-encoding in the " + what);
                    return Optional.empty();
                }
                bytes.write(hi * 16 + lo);
                i += 2;
            } else {
                byte[] encoded = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                if (Character.isHighSurrogate(c) && i + 1 < s.length()) {
                    encoded = s.substring(i, i + 2).getBytes(StandardCharsets.UTF_8);
                    i++;
                }
                bytes.writeBytes(encoded);
            }
        }
        try {
            return Optional.of(StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toByteArray()))
                    .toString());
        } catch (CharacterCodingException e) {
            problems.add(path, "the " + what + " is not valid UTF-8 after percent-decoding");
            return Optional.empty();
        }
    }
}
