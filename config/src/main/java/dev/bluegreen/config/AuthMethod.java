package dev.bluegreen.config;

/** How the proxy authenticates a client that logs in as a configured user. */
public enum AuthMethod implements ConfigName {
    /** No password; meant for loopback listeners and tests. */
    TRUST("trust"),
    /** The legacy MD5 challenge; only for clients that cannot do SCRAM. */
    MD5("md5"),
    /** SCRAM-SHA-256, the default. */
    SCRAM_SHA_256("scram-sha-256");

    private final String configName;

    AuthMethod(String configName) {
        this.configName = configName;
    }

    /** The spelling used in YAML: {@code trust}, {@code md5}, {@code scram-sha-256}. */
    @Override
    public String configName() {
        return configName;
    }

    /**
     * Parses the YAML spelling (case-insensitive).
     *
     * @throws IllegalArgumentException with a message fit for a {@link Problem}
     */
    public static AuthMethod parse(String s) {
        return ConfigName.find(values(), s).orElseThrow(() -> new IllegalArgumentException(unknown("\"" + s + "\"")));
    }

    /** The problem with a value that is no method, named as {@code shown} says (quoted, or by its reference). */
    static String unknown(String shown) {
        return "unknown method " + shown + " (expected trust, md5 or scram-sha-256)";
    }
}
