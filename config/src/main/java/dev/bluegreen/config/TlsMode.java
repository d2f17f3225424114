package dev.bluegreen.config;

/**
 * How the proxy secures its connection to a cluster; the names and meanings are libpq's
 * {@code sslmode} values without the opportunistic ones ({@code allow}, {@code prefer}), which
 * silently fall back to plain text.
 */
public enum TlsMode implements ConfigName {
    /** Plain TCP. */
    DISABLE("disable"),
    /** TLS, without checking the server certificate. */
    REQUIRE("require"),
    /** TLS, and the server certificate must chain to a trusted CA. */
    VERIFY_CA("verify-ca"),
    /** TLS, a trusted certificate, and the host name must match it. */
    VERIFY_FULL("verify-full");

    private final String configName;

    TlsMode(String configName) {
        this.configName = configName;
    }

    /** The spelling used in YAML and in {@code sslmode}: {@code disable}, {@code verify-full}... */
    @Override
    public String configName() {
        return configName;
    }

    /** Whether the server certificate is checked against a CA (so a {@code ca_file} is used). */
    public boolean verifiesCertificate() {
        return this == VERIFY_CA || this == VERIFY_FULL;
    }

    /**
     * Parses {@code disable}, {@code require}, {@code verify-ca} or {@code verify-full}
     * (case-insensitive).
     *
     * @throws IllegalArgumentException with a message fit for a {@link Problem}
     */
    public static TlsMode parse(String s) {
        return ConfigName.find(values(), s).orElseThrow(() -> new IllegalArgumentException(unknown("\"" + s + "\"")));
    }

    /** The problem with a value that is no mode, named as {@code shown} says (quoted, or by its reference). */
    static String unknown(String shown) {
        return "unknown TLS mode " + shown + " (expected disable, require, verify-ca or verify-full)";
    }

    /** The default when none is configured: plain on loopback, {@code verify-full} elsewhere. */
    static TlsMode defaultFor(String host) {
        return Hosts.isLoopback(host) ? DISABLE : VERIFY_FULL;
    }
}
