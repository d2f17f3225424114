package dev.bluegreen.config;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * A cluster being assembled from a URL and the YAML fields that refine it. Remembers where the CA
 * file came from so that a problem with it is reported at the right place.
 */
final class ClusterDraft {

    static final int DEFAULT_PORT = 5432;

    String host;
    Integer port;
    String database;
    Map<String, String> databases = Map.of();
    TlsMode tlsMode;
    /** Where {@link #tlsMode} was set, and how to name it in a message there ({@code "sslmode "}, or nothing). */
    String tlsModeWhere;
    String tlsModeLabel = "";
    Path caFile;
    /** Where {@link #caFile} was set, and how to name it in a message there. */
    String caFileWhere;
    String caFileLabel = "";
    String caFileName;
    String user;
    Secret password;
    ChannelBinding channelBinding;
    /** Where {@link #channelBinding} was set, and how to name it in a message there. */
    String channelBindingWhere;
    String channelBindingLabel = "";

    void tlsMode(TlsMode mode, String where, String label) {
        tlsMode = mode;
        tlsModeWhere = where;
        tlsModeLabel = label;
    }

    void channelBinding(ChannelBinding binding, String where, String label) {
        channelBinding = binding;
        channelBindingWhere = where;
        channelBindingLabel = label;
    }

    /**
     * @param label what precedes the name in a message ({@code "sslrootcert "}, or nothing)
     * @param name how a message names the file: its path, or the reference it came from
     */
    void caFile(Path file, String where, String label, String name) {
        caFile = file;
        caFileWhere = where;
        caFileLabel = label;
        caFileName = name;
    }

    /**
     * The cluster, with defaults applied (port 5432; TLS {@code disable} on loopback and
     * {@code verify-full} elsewhere), or empty with problems recorded. The host must be set.
     */
    Optional<Cluster> build(String name, Problems problems) {
        TlsMode mode = tlsMode != null ? tlsMode : TlsMode.defaultFor(host);
        boolean ok = true;
        if (caFile != null) {
            if (!mode.verifiesCertificate()) {
                problems.add(caFileWhere, caFileLabel + "only used with TLS mode verify-ca or verify-full (mode is "
                        + mode.configName() + ")");
                ok = false;
            } else {
                Optional<String> missing = ConfigLoader.unreadable(caFile, caFileName)
                        .or(() -> PemFiles.notCertificates(caFile, caFileName));
                if (missing.isPresent()) {
                    problems.add(caFileWhere, caFileLabel + missing.get());
                    ok = false;
                }
            }
        }
        if (mode == TlsMode.VERIFY_CA && caFile == null) {
            // the JVM's trusted CAs sign certificates for anyone's names, and verify-ca checks no name: any
            // certificate a public CA issued would do, a man in the middle's included (libpq refuses it too)
            problems.add(tlsModeWhere, tlsModeLabel + "verify-ca needs a CA file of the cluster's own (tls.ca_file, or"
                    + " sslrootcert in the URL): with the JVM's trusted CAs any publicly issued certificate would pass;"
                    + " use verify-full to check the host name against them");
            ok = false;
        }
        ChannelBinding binding = channelBinding != null ? channelBinding : ChannelBinding.PREFER;
        if (binding == ChannelBinding.REQUIRE && mode == TlsMode.DISABLE) {
            problems.add(channelBindingWhere, channelBindingLabel + "require needs TLS (the TLS mode is disable"
                    + (tlsMode == null ? ", the default for a loopback host" : "") + "): it binds the login to the connection");
            ok = false;
        }
        if (!ok) {
            return Optional.empty();
        }
        return Optional.of(new Cluster(name, host, port != null ? port : DEFAULT_PORT, database, databases, mode, caFile,
                user, password, binding));
    }
}
