package dev.bluegreen.config;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One Postgres endpoint, {@code blue} or {@code green}: where it is, which database a client's
 * database maps to there, how to secure the connection and which credentials the proxy logs in
 * with. The password is a {@link Secret}, so {@code toString} is safe to log.
 *
 * @param name {@code blue} or {@code green}
 * @param database the backend database for every client database not in {@code databases}; null
 *     to use the client's database name
 * @param databases client database name to backend database name; unmodifiable, may be empty
 * @param caFile CA certificates (PEM) for {@code verify-ca}/{@code verify-full}; null to use the
 *     JVM's default trust store
 * @param user the role the proxy logs in as; null to use the client's user name
 * @param password the password for {@code user}; null when the cluster does not ask for one
 * @param channelBinding whether SCRAM logins are bound to the TLS connection ({@link ChannelBinding})
 */
public record Cluster(
        String name,
        String host,
        int port,
        String database,
        Map<String, String> databases,
        TlsMode tlsMode,
        Path caFile,
        String user,
        Secret password,
        ChannelBinding channelBinding) {

    public Cluster {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(tlsMode, "tlsMode");
        Objects.requireNonNull(channelBinding, "channelBinding");
        if (channelBinding == ChannelBinding.REQUIRE && tlsMode == TlsMode.DISABLE) {
            throw new IllegalArgumentException("channel binding needs TLS");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be between 1 and 65535");
        }
        databases = databases == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(databases));
    }

    /** A cluster whose SCRAM logins are bound to its TLS connection where it offers that ({@link ChannelBinding#PREFER}). */
    public Cluster(String name, String host, int port, String database, Map<String, String> databases, TlsMode tlsMode,
                   Path caFile, String user, Secret password) {
        this(name, host, port, database, databases, tlsMode, caFile, user, password, ChannelBinding.PREFER);
    }

    /** The database to open on this cluster for a client that asked for {@code clientDatabase}. */
    public String backendDatabase(String clientDatabase) {
        String mapped = databases.get(clientDatabase);
        if (mapped != null) {
            return mapped;
        }
        return database != null ? database : clientDatabase;
    }

    /** Whether the host is {@code localhost}, 127.0.0.0/8 or {@code ::1} (decided without DNS). */
    public boolean isLoopback() {
        return Hosts.isLoopback(host);
    }

    /** {@code host:port}, for messages. */
    public String endpoint() {
        return Hosts.join(host, port);
    }
}
