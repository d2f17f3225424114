package dev.bluegreen.config;

/**
 * Whether the proxy binds its SCRAM login to a cluster to the TLS connection it runs on ({@code SCRAM-SHA-256-PLUS},
 * {@code tls-server-end-point}: the proof covers the certificate the proxy sees, so a man in the middle who presents
 * another cannot pass the login on); libpq's {@code channel_binding}, with its names and meanings.
 */
public enum ChannelBinding implements ConfigName {
    /** Never bind. */
    DISABLE("disable"),
    /** Bind where the connection is TLS and the cluster offers it (the default). */
    PREFER("prefer"),
    /**
     * Bind, or refuse the login: a cluster that asks for anything but SCRAM with channel binding (another method, or
     * none: trust) is refused, so that no one between can ask for less. Needs TLS.
     */
    REQUIRE("require");

    private final String configName;

    ChannelBinding(String configName) {
        this.configName = configName;
    }

    /** The spelling used in YAML and in the URL's {@code channel_binding}. */
    @Override
    public String configName() {
        return configName;
    }

    /**
     * Parses {@code disable}, {@code prefer} or {@code require} (case-insensitive).
     *
     * @throws IllegalArgumentException with a message fit for a {@link Problem}
     */
    public static ChannelBinding parse(String s) {
        return ConfigName.find(values(), s).orElseThrow(() -> new IllegalArgumentException(unknown("\"" + s + "\"")));
    }

    /** The problem with a value that is none, named as {@code shown} says (quoted, or by its reference). */
    static String unknown(String shown) {
        return "unknown channel binding " + shown + " (expected disable, prefer or require)";
    }
}
