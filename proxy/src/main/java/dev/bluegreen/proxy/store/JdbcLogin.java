package dev.bluegreen.proxy.store;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.bluegreen.config.Cluster;
import java.net.URLEncoder;
import java.util.Properties;

/**
 * How the proxy's own JDBC connections log in to a Postgres cluster (the {@code postgres} state store,
 * {@code verify}): the URL carries only host, port and database, everything else goes in properties, so
 * that a database name cannot smuggle in parameters and no credential appears in a URL.
 */
public final class JdbcLogin {

    private JdbcLogin() {}

    /** {@code jdbc:postgresql://host:port/database}, the name percent-encoded. */
    public static String url(Cluster cluster, String database) {
        return "jdbc:postgresql://" + cluster.endpoint() + "/" + URLEncoder.encode(database, UTF_8).replace("+", "%20");
    }

    /**
     * Credentials, TLS as the cluster's mode asks (no CA file: the JVM's trust store, as for the proxy's own
     * connections, where pgjdbc would look for {@code ~/.postgresql/root.crt}), connect and login timeouts,
     * TCP keepalive, and the name {@code pg_stat_activity} shows.
     *
     * @param socketTimeoutSeconds 0 for none
     */
    public static Properties properties(Cluster cluster, int connectTimeoutSeconds, int socketTimeoutSeconds,
                                        String applicationName) {
        Properties properties = new Properties();
        if (cluster.user() != null) {
            properties.setProperty("user", cluster.user());
        }
        if (cluster.password() != null) {
            properties.setProperty("password", cluster.password().reveal());
        }
        properties.setProperty("sslmode", cluster.tlsMode().configName());
        if (cluster.caFile() != null) {
            properties.setProperty("sslrootcert", cluster.caFile().toString());
        } else if (cluster.tlsMode().verifiesCertificate()) {
            properties.setProperty("sslfactory", "org.postgresql.ssl.DefaultJavaSSLFactory");
        }
        properties.setProperty("connectTimeout", Integer.toString(connectTimeoutSeconds));
        properties.setProperty("loginTimeout", Integer.toString(connectTimeoutSeconds));
        properties.setProperty("tcpKeepAlive", "true");
        properties.setProperty("socketTimeout", Integer.toString(socketTimeoutSeconds));
        // the server truncates it
        properties.setProperty("ApplicationName", applicationName);
        return properties;
    }
}
