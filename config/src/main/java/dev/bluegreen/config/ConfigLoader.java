package dev.bluegreen.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.bluegreen.config.References.Scalar;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Turns a YAML file and command-line flags into a valid {@link BluegreenConfig}, or a
 * {@link ConfigException} listing every problem found.
 *
 * <p>Order of precedence: a flag replaces the file's key (which is then not read at all), the
 * file replaces the defaults. Validation does not stop at the first problem. No problem message
 * contains a secret: values that came from {@code ${env:...}}/{@code ${file:...}}, passwords and
 * URLs are named, never shown.
 */
public final class ConfigLoader {

    static final long MIN_MESSAGE_BYTES = 4 * Units.KIB;
    static final long MAX_MESSAGE_BYTES = Units.GIB;
    static final long MIN_STARTUP_PACKET_BYTES = Units.KIB;
    static final long MAX_STARTUP_PACKET_BYTES = Units.MIB;
    /**
     * The longest any timeout or interval may be (keepalive and health.window take less). A day is longer than
     * any of them is meant to be, and far inside what they are turned into: Netty's connect timeout is int
     * milliseconds (at most 24.8 days) and deadlines are counted in long nanoseconds (292 years).
     */
    static final Duration MAX_DURATION = Duration.ofHours(24);

    /** A setting's name as the server accepts it, custom ones ({@code app.tenant}) included; lower case. */
    private static final Pattern PARAMETER_NAME = Pattern.compile("[a-z_][a-z0-9_$]*(\\.[a-z_][a-z0-9_$]*)*");
    /** {@code name} or {@code schema.name}, unquoted. */
    private static final Pattern FUNCTION_NAME =
            Pattern.compile("[\\p{L}_][\\p{L}\\p{N}_$]*(\\.[\\p{L}_][\\p{L}\\p{N}_$]*)?");

    private static final YAMLFactory YAML =
            YAMLFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private final References references;

    /** A loader that resolves {@code ${env:NAME}} with {@code env} (tests inject a map). */
    ConfigLoader(Function<String, String> env) {
        this.references = new References(Objects.requireNonNull(env, "env"));
    }

    /**
     * Loads and validates a configuration.
     *
     * @param file the YAML file, or null to use flags and defaults only
     * @param overrides the command-line flags; {@link Overrides#none()} for none
     * @param embedded whether the proxy starts its own clusters, so that {@code clusters.blue}
     *     may be absent
     * @return a valid configuration
     * @throws ConfigException listing every problem found
     */
    public static BluegreenConfig load(Path file, Overrides overrides, boolean embedded)
            throws ConfigException {
        return new ConfigLoader(System::getenv).read(file, overrides, embedded);
    }

    BluegreenConfig read(Path file, Overrides overrides, boolean embedded) throws ConfigException {
        Objects.requireNonNull(overrides, "overrides");
        Problems problems = new Problems();
        ObjectNode root = file == null ? JsonNodeFactory.instance.objectNode() : parse(file);
        Mapping top = new Mapping(root, "", problems, references);

        HostPort listen = listener(top, "listen", overrides.listen(), "--listen", BluegreenConfig.DEFAULT_LISTEN, problems);
        HostPort admin = admin(top, overrides.admin(), problems);
        Path stateDir = stateDir(top, overrides.stateDir(), problems);
        Clusters clusters = clusters(top, overrides, embedded, problems);
        List<User> users = users(top, problems);
        ClientTls clientTls = top.mapping("client_tls").map(m -> clientTls(m, problems)).orElse(null);
        Limits limits = top.mapping("limits").map(ConfigLoader::limits).orElse(Limits.defaults());
        Timeouts timeouts = top.mapping("timeouts").map(ConfigLoader::timeouts).orElse(Timeouts.defaults());
        Routing routing = top.mapping("routing").map(ConfigLoader::routing).orElse(Routing.defaults());
        Health health = top.mapping("health").map(ConfigLoader::health).orElse(Health.defaults());
        StateStoreConfig stateStore = stateStore(top, overrides.stateStore(), problems);
        Peering peering = top.mapping("peering").map(m -> peering(m, listen, problems)).orElse(Peering.none());
        top.finish();

        // Judged on what the file lists, so that one bad user entry does not add this problem too.
        boolean usersListed = top.has("users") && root.get("users").size() > 0;
        if (listen != null && !listen.isLoopback() && !usersListed) {
            boolean flag = overrides.listen() != null;
            String shown = flag ? listen.toString() : top.named("listen", listen);
            problems.add(flag ? "--listen" : "listen", "a non-loopback listener (" + shown
                    + ") needs client authentication; configure users");
        }
        if (listen != null && admin != null && listen.port() != 0 && listen.port() == admin.port()
                && Hosts.overlap(listen.host(), admin.host())) {
            problems.add(overrides.admin() != null ? "--admin" : overrides.listen() != null ? "--listen"
                            : top.isMapping("admin") ? "admin.listen" : "listen",
                    "the SQL listener and the admin API cannot share " + admin + "; give each a port of its own");
        }
        Cluster blue = clusters.blue();
        Cluster green = clusters.green();
        if (blue != null && green != null && sameEndpoint(blue, green)) {
            // the endpoint is the same on both sides: not shown if either side has it from a reference
            String shown = clusters.endpointFromReference() ? "" : " (" + blue.endpoint() + ")";
            problems.add(greenPath(overrides), "is the same endpoint and database as blue" + shown
                    + "; dual-write would apply every write twice to one database");
        }
        problems.throwIfAny();
        return new BluegreenConfig(listen, blue, green, admin, users, clientTls, limits, timeouts, stateDir, routing,
                health, stateStore, peering);
    }

    /** {@code peering: { id: 1, peers: { 2: host:port, … } }}; none when the section is absent or wrong. */
    private static Peering peering(Mapping m, HostPort listen, Problems problems) {
        int before = problems.size();
        Optional<Integer> id = m.integer("id", 1, Peering.MAX_ID);
        if (!m.has("id")) {
            problems.add(m.pathOf("id"), "required: this instance's id, 1-" + Peering.MAX_ID);
        }
        Map<Integer, HostPort> peers = new LinkedHashMap<>();
        m.valueMap("peers", (value, at) -> {
            try {
                HostPort address = HostPort.parse(value.value());
                if (!Hosts.isValid(address.host())) {
                    problems.add(at, "not a host name or IP address " + value.shown());
                    return Optional.empty();
                }
                return Optional.of(address);
            } catch (IllegalArgumentException e) {
                problems.add(at, e.getMessage());
                return Optional.empty();
            }
        }).ifPresent(given -> given.forEach((name, address) -> {
            String at = m.pathOf("peers") + "." + name;
            // written as the number alone: "01" and "1" would name one peer twice
            Integer peer = name.matches("[1-9][0-9]{0,2}") ? Integer.valueOf(name) : null;
            if (peer == null || peer > Peering.MAX_ID) {
                problems.add(at, "a peer is named by its id, 1-" + Peering.MAX_ID);
            } else if (id.isPresent() && peer.equals(id.get())) {
                problems.add(at, "is this instance's own id; list only the others");
            } else if (address.equals(listen)) {
                problems.add(at, "is this instance's own listener (" + listen + "); give the peer's");
            } else {
                peers.put(peer, address);
            }
        }));
        m.finish();
        if (problems.size() > before || id.isEmpty()) {
            return Peering.none();
        }
        return new Peering(id.get(), peers);
    }

    /** The document's top-level mapping; a syntax error is the one problem reported. */
    private static ObjectNode parse(Path file) throws ConfigException {
        if (Files.isDirectory(file)) {
            throw new ConfigException("--config", file + ": is a directory");
        }
        JsonNode root;
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8);
                JsonParser parser = YAML.createParser(in)) {
            root = YamlTree.readDocument(parser);
        } catch (NoSuchFileException e) {
            throw new ConfigException("--config", file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new ConfigException("--config", file + ": permission denied");
        } catch (JacksonException e) {
            throw new ConfigException(file.toString(), syntaxError(e));
        } catch (IOException e) {
            // MalformedInputException and friends: the file is not text
            throw new ConfigException("--config", file + ": cannot read (" + e.getClass().getSimpleName() + ")");
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            return JsonNodeFactory.instance.objectNode(); // an empty file: all defaults
        }
        if (!(root instanceof ObjectNode object)) {
            throw new ConfigException(file.toString(), "expected a mapping of keys at the top level");
        }
        return object;
    }

    /**
     * {@code line L, column C: what went wrong}, without the parser's excerpt of the document,
     * which may hold a secret written inline.
     */
    private static String syntaxError(JacksonException e) {
        // jackson-dataformat-yaml wraps SnakeYAML's exception, whose parts we can use separately
        if (e.getCause() instanceof org.yaml.snakeyaml.error.MarkedYAMLException yaml
                && yaml.getProblemMark() != null) {
            StringBuilder what = new StringBuilder()
                    .append(at(yaml.getProblemMark().getLine() + 1, yaml.getProblemMark().getColumn() + 1))
                    .append(yaml.getProblem());
            if (yaml.getContext() != null && yaml.getContextMark() != null) {
                what.append(" (").append(yaml.getContext()).append(" started at line ")
                        .append(yaml.getContextMark().getLine() + 1).append(", column ")
                        .append(yaml.getContextMark().getColumn() + 1).append(')');
            }
            return what.toString();
        }
        String what = e.getOriginalMessage();
        if (what.startsWith("Duplicate field ")) {
            what = "duplicate key " + what.substring("Duplicate field ".length());
        }
        int newline = what.indexOf('\n');
        if (newline >= 0) {
            what = what.substring(0, newline); // later lines may quote the document
        }
        JsonLocation where = e.getLocation();
        String prefix = where == null || where.getLineNr() < 1
                ? "invalid YAML: "
                : at(where.getLineNr(), where.getColumnNr());
        return prefix + what.strip();
    }

    private static String at(int line, int column) {
        return "line " + line + ", column " + column + ": ";
    }

    private static HostPort listener(
            Mapping m, String key, String flagValue, String flag, HostPort fallback, Problems problems) {
        HostPort address;
        String at;
        if (flagValue != null) {
            m.skip(key);
            at = flag;
            try {
                address = HostPort.parse(flagValue);
            } catch (IllegalArgumentException e) {
                problems.add(flag, e.getMessage());
                return null;
            }
        } else if (!m.has(key)) {
            return fallback;
        } else {
            at = m.pathOf(key);
            address = m.hostPort(key).orElse(null);
        }
        if (address != null && !Hosts.isValid(address.host())) {
            // found here rather than when binding (exit 1), and without a lookup of a name such as 256.1.1.1
            problems.add(at, "not a host name or IP address to listen on " + (flagValue != null
                    ? "\"" + address.host() + "\"" : m.named(key, "\"" + address.host() + "\"")));
            return null;
        }
        return address;
    }

    /**
     * {@code --admin} replaces {@code admin.listen}: the file's value there is not read, and neither is an
     * {@code admin} key that is no mapping at all. The other keys of an {@code admin} mapping still are.
     */
    private static HostPort admin(Mapping top, String flagValue, Problems problems) {
        HostPort fallback = BluegreenConfig.DEFAULT_ADMIN;
        if (flagValue != null && !top.isMapping("admin")) {
            return listener(top, "admin", flagValue, "--admin", fallback, problems);
        }
        Optional<Mapping> admin = top.mapping("admin");
        if (admin.isEmpty()) {
            return fallback;
        }
        HostPort listen = listener(admin.get(), "listen", flagValue, "--admin", fallback, problems);
        admin.get().finish();
        return listen;
    }

    private static Path stateDir(Mapping top, Path flagValue, Problems problems) {
        Path dir;
        String where;
        if (flagValue != null) {
            top.skip("state_dir");
            if (flagValue.toString().isEmpty()) {
                // --state-dir '' would put the state, its lock and the admin token in the working directory
                problems.add("--state-dir", "must not be empty");
                return BluegreenConfig.DEFAULT_STATE_DIR;
            }
            dir = flagValue;
            where = "--state-dir";
        } else {
            dir = top.file("state_dir").orElse(BluegreenConfig.DEFAULT_STATE_DIR);
            where = "state_dir";
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            problems.add(where, (flagValue != null ? dir.toString() : top.named("state_dir", dir)) + ": not a directory");
        }
        return dir;
    }

    /**
     * {@code state_store: file} (the default), {@code state_store: postgresql://…}, or a mapping with
     * {@code url}, {@code user}, {@code password}, {@code heartbeat} and {@code instance_timeout};
     * {@code --state-store} replaces the key. {@code user} and {@code password} override the URL's, as a
     * cluster's do, so that the password can be a reference (one inside the URL would be taken literally).
     * On a problem the file store stands in, so that the other problems are still found.
     */
    private static StateStoreConfig stateStore(Mapping top, String flagValue, Problems problems) {
        if (flagValue != null) {
            top.skip("state_store");
            return stateStoreAt(new Scalar(flagValue, null), "--state-store", draft -> {}, problems)
                    .orElse(StateStoreConfig.file());
        }
        if (!top.has("state_store")) {
            return StateStoreConfig.file();
        }
        if (!top.isMapping("state_store")) {
            return top.text("state_store").flatMap(v -> stateStoreAt(v, "state_store", draft -> {}, problems))
                    .orElse(StateStoreConfig.file());
        }
        Mapping m = top.mapping("state_store").orElseThrow();
        Optional<String> user = m.string("user");
        Optional<Secret> password = m.secret("password");
        Optional<StateStoreConfig> where = m.text("url").flatMap(v -> stateStoreAt(v, m.pathOf("url"), draft -> {
            user.ifPresent(u -> draft.user = u);
            password.ifPresent(p -> draft.password = p);
        }, problems));
        if (!m.has("url")) {
            problems.add(m.pathOf("url"), "required: file or postgresql://…");
        }
        if (where.isPresent() && where.get().kind() == StateStoreConfig.Kind.FILE) {
            for (String key : List.of("user", "password", "heartbeat", "instance_timeout")) {
                if (m.has(key)) {
                    problems.add(m.pathOf(key), "only used with a postgresql:// URL");
                }
            }
        }
        Optional<Duration> heartbeat = positive(m, "heartbeat");
        Optional<Duration> instanceTimeout = positive(m, "instance_timeout");
        m.finish();
        if (where.isEmpty()) {
            return StateStoreConfig.file();
        }
        Duration beat = heartbeat.orElse(StateStoreConfig.DEFAULT_HEARTBEAT);
        if (beat.multipliedBy(2).compareTo(MAX_DURATION) > 0) {
            // instance_timeout, at most 24h like every duration, must hold two heartbeats
            problems.add(m.pathOf("heartbeat"), "must be at most 12h");
            return StateStoreConfig.file();
        }
        Duration derived = beat.multipliedBy(5).compareTo(StateStoreConfig.DEFAULT_INSTANCE_TIMEOUT) > 0
                ? beat.multipliedBy(5) : StateStoreConfig.DEFAULT_INSTANCE_TIMEOUT;
        Duration timeout = instanceTimeout.orElse(derived.compareTo(MAX_DURATION) > 0 ? MAX_DURATION : derived);
        if (timeout.compareTo(beat.multipliedBy(2)) < 0) {
            problems.add(m.pathOf("instance_timeout"), "must be at least two heartbeats (" + beat.multipliedBy(2).toMillis()
                    + " ms)");
            return StateStoreConfig.file();
        }
        return new StateStoreConfig(where.get().kind(), where.get().database(), beat, timeout);
    }

    /**
     * {@code file}, or a {@code postgresql://} URL naming the database that holds the state, its fields
     * then refined by {@code refine}.
     */
    private static Optional<StateStoreConfig> stateStoreAt(
            Scalar url, String at, Consumer<ClusterDraft> refine, Problems problems) {
        String value = url.value();
        if (value.strip().equalsIgnoreCase("file")) {
            return Optional.of(StateStoreConfig.file());
        }
        String lower = value.toLowerCase(Locale.ROOT);
        if (!lower.startsWith("postgresql://") && !lower.startsWith("postgres://")) {
            problems.add(at, "expected file or a postgresql:// URL");
            return Optional.empty();
        }
        ClusterDraft draft = new ClusterDraft();
        if (!ClusterUrl.read(value, url.reference(), at, draft, problems)) {
            return Optional.empty();
        }
        if (draft.database == null) {
            problems.add(at, "the URL must name the database that holds the state (postgresql://host/DATABASE)");
            return Optional.empty();
        }
        refine.accept(draft);
        return draft.build("state_store", problems).map(StateStoreConfig::postgres);
    }

    /**
     * Either cluster is null when absent or invalid.
     *
     * @param endpointFromReference whether either one's host or port came from a reference
     */
    private record Clusters(Cluster blue, Cluster green, boolean endpointFromReference) {}

    private static Clusters clusters(Mapping top, Overrides overrides, boolean embedded, Problems problems) {
        Optional<Mapping> clusters = top.mapping("clusters");
        Cluster blue = cluster("blue", clusters, overrides.blueUrl(), "--blue", problems);
        Cluster green = cluster("green", clusters, overrides.greenUrl(), "--green", problems);
        boolean endpointFromReference = Stream.of("blue", "green")
                .filter(name -> (name.equals("blue") ? overrides.blueUrl() : overrides.greenUrl()) == null)
                .anyMatch(name -> clusters.filter(c -> c.isMapping(name)).flatMap(c -> c.mapping(name))
                        .map(m -> Stream.of("url", "host", "port").anyMatch(m::fromReference))
                        .orElse(false));
        clusters.ifPresent(Mapping::finish);
        boolean blueGiven = overrides.blueUrl() != null || clusters.map(c -> c.has("blue")).orElse(false);
        if (!blueGiven && !embedded) {
            problems.add("clusters.blue", "required (or pass --blue, or use --embedded)");
        }
        if (embedded) {
            // --embedded proxies to the two clusters it starts: a cluster given as well would be ignored unseen
            for (String name : List.of("blue", "green")) {
                if ((name.equals("blue") ? overrides.blueUrl() : overrides.greenUrl()) != null) {
                    problems.add("--" + name, "not used with --embedded, which proxies to the clusters it starts");
                } else if (clusters.map(c -> c.has(name)).orElse(false)) {
                    problems.add("clusters." + name, "not used with --embedded, which proxies to the clusters it starts");
                }
            }
        }
        return new Clusters(blue, green, endpointFromReference);
    }

    private static Cluster cluster(
            String name, Optional<Mapping> clusters, String flagUrl, String flag, Problems problems) {
        if (flagUrl != null) {
            clusters.ifPresent(c -> c.skip(name));
            ClusterDraft draft = new ClusterDraft();
            if (!ClusterUrl.read(flagUrl, null, flag, draft, problems) || passwordWithoutUser(draft, flag, problems)
                    || storedSecretForCluster(draft, flag, problems)) {
                return null;
            }
            return draft.build(name, problems).orElse(null);
        }
        return clusters.flatMap(c -> c.mapping(name)).flatMap(m -> clusterFromYaml(name, m, problems)).orElse(null);
    }

    private static Optional<Cluster> clusterFromYaml(String name, Mapping m, Problems problems) {
        ClusterDraft draft = new ClusterDraft();
        // a url given but not read (an unset variable, a refused URL) reports its own problem, and no other for it
        boolean urlRead = m.text("url")
                .map(url -> ClusterUrl.read(url.value(), url.reference(), m.pathOf("url"), draft, problems))
                .orElse(!m.has("url"));
        boolean ok = urlRead;
        Optional<Scalar> host = m.text("host");
        if (host.isPresent() && Hosts.isValid(host.get().value())) {
            draft.host = host.get().value();
        } else if (host.isPresent()) {
            problems.add(m.pathOf("host"), "not a host name or IP address " + host.get().shown()
                    + hostHint(host.get().value()));
            ok = false; // the URL's host must not stand in
        }
        m.integer("port", 1, 65535).ifPresent(p -> draft.port = p);
        m.string("database").ifPresent(d -> draft.database = d);
        m.stringMap("databases").ifPresent(d -> draft.databases = d);
        m.string("user").ifPresent(u -> draft.user = u);
        m.secret("password").ifPresent(p -> draft.password = p);
        m.mapping("tls").ifPresent(tls -> {
            tls.text("mode").ifPresent(mode -> {
                try {
                    draft.tlsMode(TlsMode.parse(mode.value()), tls.pathOf("mode"), "");
                } catch (IllegalArgumentException e) {
                    problems.add(tls.pathOf("mode"), TlsMode.unknown(mode.shown()));
                }
            });
            tls.file("ca_file").ifPresent(f -> draft.caFile(f, tls.pathOf("ca_file"), "", tls.named("ca_file", f)));
            tls.text("channel_binding").ifPresent(binding -> {
                try {
                    draft.channelBinding(ChannelBinding.parse(binding.value()), tls.pathOf("channel_binding"), "");
                } catch (IllegalArgumentException e) {
                    problems.add(tls.pathOf("channel_binding"), ChannelBinding.unknown(binding.shown()));
                }
            });
            tls.finish();
        });
        m.finish();
        String passwordAt = m.has("password") ? m.pathOf("password") : m.pathOf("url");
        if (urlRead && (passwordWithoutUser(draft, passwordAt, problems) || storedSecretForCluster(draft, passwordAt, problems))) {
            ok = false;
        }
        if (draft.host == null) {
            if (!m.has("url") && !m.has("host")) {
                problems.add(m.pathOf("host"), "required (or give url)");
            }
            return Optional.empty();
        }
        return ok ? draft.build(name, problems) : Optional.empty();
    }

    /**
     * Whether the draft has a password but no user, which is then reported at {@code at}: it would never be
     * used, since without a cluster user the proxy logs in as each client, with its {@code users} password.
     */
    private static boolean passwordWithoutUser(ClusterDraft draft, String at, Problems problems) {
        if (draft.password == null || draft.user != null) {
            return false;
        }
        problems.add(at, "a password is used only with the cluster's own user (user, or user@ in the URL); without"
                + " one the proxy logs in to this cluster as each client, with that client's password in users");
        return true;
    }

    /**
     * Whether the draft's password is a secret PostgreSQL stores rather than the password, which is then reported at
     * {@code at}: the proxy logs in as the cluster's own user with no client whose login would prove it.
     */
    private static boolean storedSecretForCluster(ClusterDraft draft, String at, Problems problems) {
        boolean stored;
        try {
            stored = draft.password != null && StoredSecret.of(draft.password).isPresent();
        } catch (IllegalArgumentException e) {
            stored = true;
        }
        if (stored) {
            problems.add(at, "give the cluster user's password itself: a secret PostgreSQL stores for it (md5…,"
                    + " SCRAM-SHA-256$…) proves no login the proxy makes on its own");
        }
        return stored;
    }

    /** What a host that is no host probably meant, for the end of the message. */
    private static String hostHint(String host) {
        if (host.contains("://")) {
            return " (a URL goes in url)";
        }
        if (host.startsWith("[")) {
            return " (write an IPv6 address without brackets)";
        }
        int colon = host.lastIndexOf(':');
        if (colon > 0 && host.indexOf(':') == colon && host.substring(colon + 1).matches("\\d+")
                && Hosts.isValid(host.substring(0, colon))) {
            return " (the port goes in port)";
        }
        return "";
    }

    private static String greenPath(Overrides overrides) {
        return overrides.greenUrl() != null ? "--green" : "clusters.green";
    }

    /**
     * Whether blue and green are one database: the same host (localhost, 127.0.0.1 and ::1 taken for one) and
     * port, and the same database and mapping.
     */
    private static boolean sameEndpoint(Cluster a, Cluster b) {
        return sameHost(a.host(), b.host())
                && a.port() == b.port()
                && Objects.equals(a.database(), b.database())
                && a.databases().equals(b.databases());
    }

    private static boolean sameHost(String a, String b) {
        Set<String> loopback = Set.of("localhost", "127.0.0.1", "::1");
        return a.equalsIgnoreCase(b)
                || loopback.contains(a.toLowerCase(Locale.ROOT)) && loopback.contains(b.toLowerCase(Locale.ROOT));
    }

    private static List<User> users(Mapping top, Problems problems) {
        List<User> users = new ArrayList<>();
        Map<String, String> seenAt = new HashMap<>();
        for (Mapping m : top.listOfMappings("users").orElse(List.of())) {
            Optional<Scalar> nameText = m.text("name");
            Optional<String> name = nameText.map(Scalar::value);
            if (name.isEmpty() && !m.has("name")) {
                problems.add(m.pathOf("name"), "required");
            }
            nameText.ifPresent(n -> {
                String earlier = seenAt.putIfAbsent(n.value(), m.path());
                if (earlier != null) {
                    problems.add(m.pathOf("name"), "duplicate user " + n.shown() + " (also " + earlier + ")");
                }
            });
            AuthMethod auth = AuthMethod.SCRAM_SHA_256;
            boolean authOk = true;
            Optional<Scalar> method = m.text("auth");
            if (method.isPresent()) {
                try {
                    auth = AuthMethod.parse(method.get().value());
                } catch (IllegalArgumentException e) {
                    problems.add(m.pathOf("auth"), AuthMethod.unknown(method.get().shown()));
                    authOk = false;
                }
            } else if (m.has("auth")) {
                authOk = false; // present but empty or unresolvable: already reported
            }
            Optional<Secret> password = m.secret("password");
            if (authOk && auth == AuthMethod.TRUST && m.has("password")) {
                problems.add(m.pathOf("password"), "not used with trust; remove it or choose md5 or scram-sha-256");
            } else if (authOk && auth != AuthMethod.TRUST && !m.has("password")) {
                problems.add(m.pathOf("password"), "required for " + auth.configName());
            }
            boolean secretOk = password.isEmpty() || !authOk || auth == AuthMethod.TRUST
                    || storedSecretFits(password.get(), auth, m.pathOf("password"), problems);
            m.finish();
            if (name.isPresent() && authOk && secretOk && (auth == AuthMethod.TRUST) == password.isEmpty()) {
                users.add(new User(name.get(), auth, password.orElse(null)));
            }
        }
        return users;
    }

    /** Whether a user's password, if it is a secret PostgreSQL stores, is one and can check {@code auth}'s logins. */
    private static boolean storedSecretFits(Secret password, AuthMethod auth, String at, Problems problems) {
        try {
            if (auth == AuthMethod.SCRAM_SHA_256 && StoredSecret.of(password).orElse(null) instanceof StoredSecret.Md5) {
                problems.add(at, User.MD5_SECRET_FOR_SCRAM);
                return false;
            }
            return true;
        } catch (IllegalArgumentException e) {
            problems.add(at, e.getMessage());
            return false;
        }
    }

    private static ClientTls clientTls(Mapping m, Problems problems) {
        Optional<Path> cert = m.file("cert_file");
        Optional<Path> key = m.file("key_file");
        boolean required = m.bool("required").orElse(false);
        boolean certGiven = m.has("cert_file");
        boolean keyGiven = m.has("key_file");
        m.finish();
        if (!certGiven && !keyGiven) {
            problems.add(m.pathOf("cert_file"), "required");
        } else if (!keyGiven) {
            problems.add(m.pathOf("key_file"), "required with cert_file");
        } else if (!certGiven) {
            problems.add(m.pathOf("cert_file"), "required with key_file");
        }
        cert.flatMap(f -> unreadable(f, m.named("cert_file", f))
                        .or(() -> PemFiles.notCertificates(f, m.named("cert_file", f))))
                .ifPresent(why -> problems.add(m.pathOf("cert_file"), why));
        key.flatMap(f -> unreadable(f, m.named("key_file", f))
                        .or(() -> PemFiles.notPrivateKey(f, m.named("key_file", f))))
                .ifPresent(why -> problems.add(m.pathOf("key_file"), why));
        if (cert.isEmpty() || key.isEmpty()) {
            return null;
        }
        return new ClientTls(cert.get(), key.get(), required);
    }

    private static Limits limits(Mapping m) {
        Limits d = Limits.defaults();
        Limits limits = new Limits(
                m.integer("max_client_connections", 1, Integer.MAX_VALUE).orElse(d.maxClientConnections()),
                m.size("max_message_size", MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES).orElse(d.maxMessageBytes()),
                m.size("max_startup_packet_size", MIN_STARTUP_PACKET_BYTES, MAX_STARTUP_PACKET_BYTES)
                        .orElse(d.maxStartupPacketBytes()));
        m.finish();
        return limits;
    }

    private static Timeouts timeouts(Mapping m) {
        Timeouts d = Timeouts.defaults();
        Timeouts timeouts = new Timeouts(
                positive(m, "startup").orElse(d.startup()),
                positive(m, "connect").orElse(d.connect()),
                atMostADay(m, "shutdown_grace").orElse(d.shutdownGrace()),
                keepalive(m).orElse(d.keepalive()),
                positive(m, "follower").orElse(d.follower()),
                atMostADay(m, "green_read").orElse(d.greenRead()),
                atMostADay(m, "commit_wait").orElse(d.commitWait()));
        m.finish();
        return timeouts;
    }

    private static Routing routing(Mapping m) {
        Routing d = Routing.defaults();
        Problems problems = m.problems();
        Routing routing = new Routing(
                m.scalar("sticky_key")
                        .flatMap(s -> choice(s, m.pathOf("sticky_key"), StickyKey.values(), StickyKey::configName,
                                problems))
                        .orElse(d.stickyKey()),
                m.scalar("tenant_source")
                        .flatMap(s -> tenantParameter(s, m.pathOf("tenant_source"), problems))
                        .orElse(d.tenantParameter()),
                m.valueMap("tenant_pins",
                                (s, at) -> choice(s, at, ClusterName.values(), ClusterName::configName, problems))
                        .orElse(d.tenantPins()),
                positive(m, "write_barrier_timeout").orElse(d.writeBarrierTimeout()),
                m.valueList("write_functions", (s, at) -> functionName(s, at, problems))
                        .<Set<String>>map(Set::copyOf)
                        .orElse(d.writeFunctions()),
                m.scalar("read_after_write")
                        .flatMap(s -> choice(s, m.pathOf("read_after_write"), ReadAfterWrite.values(),
                                ReadAfterWrite::configName, problems))
                        .orElse(d.readAfterWrite()));
        m.finish();
        return routing;
    }

    private static Health health(Mapping m) {
        Problems problems = m.problems();
        Duration window = m.duration("window").filter(w -> {
            boolean fits = w.compareTo(Health.MIN_WINDOW) >= 0 && w.compareTo(Health.MAX_WINDOW) <= 0
                    && w.toMillis() % 1000 == 0;
            if (!fits) {
                problems.add(m.pathOf("window"), "must be whole seconds from 2s to 1h");
            }
            return fits;
        }).orElse(Health.DEFAULT_WINDOW);
        List<HealthRule> rules = m.listOfMappings("rules").map(list -> healthRules(list, problems))
                .orElse(Health.DEFAULT_RULES);
        m.finish();
        return new Health(window, rules);
    }

    /** Rules whose entries are all valid; an invalid entry is reported and left out. */
    private static List<HealthRule> healthRules(List<Mapping> entries, Problems problems) {
        List<HealthRule> rules = new ArrayList<>();
        Map<String, String> seenAt = new HashMap<>();
        for (Mapping r : entries) {
            int before = problems.size();
            Optional<HealthRule.Metric> metric = r.scalar("metric").flatMap(s -> choice(s, r.pathOf("metric"),
                    HealthRule.Metric.values(), HealthRule.Metric::configName, problems));
            Optional<HealthRule.Comparison> op = r.scalar("op").flatMap(s -> comparison(s, r.pathOf("op"), problems));
            Optional<Scalar> thresholdScalar = r.scalar("threshold"); // read once: a reference is resolved once
            Optional<String> thresholdText = thresholdScalar.map(s -> s.value().strip());
            Optional<Double> threshold = thresholdScalar.flatMap(s -> threshold(s, r.pathOf("threshold"),
                    metric.orElse(null), problems));
            Optional<HealthRule.Action> action = r.scalar("action").flatMap(s -> choice(s, r.pathOf("action"),
                    HealthRule.Action.values(), HealthRule.Action::configName, problems));
            Optional<Integer> minSamples = r.integer("min_samples", 0, Integer.MAX_VALUE);
            Optional<String> givenName = r.string("name");
            if (givenName.isPresent() && givenName.get().isBlank()) {
                problems.add(r.pathOf("name"), "must not be blank");
            }
            r.finish();
            for (String key : List.of("metric", "op", "threshold", "action")) {
                if (!r.has(key)) {
                    problems.add(r.pathOf(key), "required");
                }
            }
            if (problems.size() > before) {
                continue;
            }
            String name = givenName.orElse(metric.get().configName() + " " + op.get().symbol() + " " + thresholdText.get());
            String earlier = seenAt.putIfAbsent(name, r.path());
            if (earlier != null) {
                problems.add(r.pathOf("name"), "duplicate rule name \"" + name + "\" (also " + earlier + "); give each a name");
                continue;
            }
            int samples = minSamples.orElse(metric.get() == HealthRule.Metric.DIVERGENCES ? 0 : Health.DEFAULT_MIN_SAMPLES);
            rules.add(new HealthRule(name, metric.get(), op.get(), threshold.get(), action.get(), samples));
        }
        return rules;
    }

    private static Optional<HealthRule.Comparison> comparison(Scalar s, String at, Problems problems) {
        String text = s.value().strip().toLowerCase(Locale.ROOT);
        for (HealthRule.Comparison op : HealthRule.Comparison.values()) {
            String word = switch (op) {
                case GREATER -> "gt";
                case GREATER_OR_EQUAL -> "ge";
                case LESS -> "lt";
                case LESS_OR_EQUAL -> "le";
            };
            if (text.equals(op.symbol()) || text.equals(word)) {
                return Optional.of(op);
            }
        }
        problems.add(at, "expected \">\", \">=\", \"<\" or \"<=\" (or gt, ge, lt, le), got " + s.shown());
        return Optional.empty();
    }

    /** Plain decimal, as every number in the file: Double.parseDouble alone also takes 0x1p3, 0.5f and 2D. */
    private static final Pattern DECIMAL = Pattern.compile("[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?");

    /** A finite number of at least 0; at most 1 for an error rate. */
    private static Optional<Double> threshold(Scalar s, String at, HealthRule.Metric metric, Problems problems) {
        String text = s.value().strip();
        if (!DECIMAL.matcher(text).matches()) {
            problems.add(at, "not a number " + s.shown());
            return Optional.empty();
        }
        double value = Double.parseDouble(text); // cannot fail once DECIMAL matched
        if (!Double.isFinite(value)) {
            problems.add(at, "not a finite number " + s.shown()); // 1e400 parses as infinity
            return Optional.empty();
        }
        if (value < 0) {
            problems.add(at, "must be a number of at least 0");
            return Optional.empty();
        }
        if (metric == HealthRule.Metric.ERROR_RATE && value > 1) {
            problems.add(at, "an error rate is between 0 and 1 (0.05 is 5 %)");
            return Optional.empty();
        }
        return Optional.of(value);
    }

    /** The constant whose YAML spelling the value is (case-insensitive), or a problem listing them all. */
    private static <E extends Enum<E>> Optional<E> choice(
            Scalar s, String at, E[] choices, Function<E, String> spelling, Problems problems) {
        String wanted = s.value().strip().toLowerCase(Locale.ROOT);
        List<String> names = new ArrayList<>();
        for (E choice : choices) {
            if (spelling.apply(choice).equals(wanted)) {
                return Optional.of(choice);
            }
            names.add(spelling.apply(choice));
        }
        String listed = String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.getLast();
        problems.add(at, "expected " + listed + ", got " + s.shown());
        return Optional.empty();
    }

    /**
     * The startup parameter named by {@code application_name}, {@code user}, {@code database} or
     * {@code parameter:NAME}: the forms the proxy's own parser takes. A bare unknown name is refused rather
     * than taken as a parameter, so that a misspelt {@code application_name} is reported, not obeyed.
     */
    private static Optional<String> tenantParameter(Scalar s, String at, Problems problems) {
        String text = s.value().strip().toLowerCase(Locale.ROOT);
        String name = switch (text) {
            case "application_name", "user", "database" -> text;
            default -> text.startsWith("parameter:") ? text.substring("parameter:".length()).strip() : "";
        };
        if (!PARAMETER_NAME.matcher(name).matches()) {
            problems.add(at, "expected application_name, user, database or parameter:NAME, got " + s.shown());
            return Optional.empty();
        }
        return Optional.of(name);
    }

    private static Optional<String> functionName(Scalar s, String at, Problems problems) {
        String name = s.value().strip();
        if (!FUNCTION_NAME.matcher(name).matches()) {
            problems.add(at, "expected a function name or schema.name, got " + s.shown());
            return Optional.empty();
        }
        return Optional.of(name);
    }

    /**
     * Zero (off), or whole seconds that Linux's TCP_KEEPIDLE takes: 1 to 32767. A fraction is refused
     * rather than cut to whole seconds, which would quietly make 1500ms mean 1s.
     */
    private static Optional<Duration> keepalive(Mapping m) {
        Optional<Duration> d = m.duration("keepalive");
        if (d.isPresent() && !d.get().isZero()
                && (d.get().toMillis() % 1000 != 0
                        || d.get().toSeconds() < 1 || d.get().toSeconds() > Timeouts.MAX_KEEPALIVE_SECONDS)) {
            m.problems().add(m.pathOf("keepalive"),
                    "must be 0s (off) or whole seconds from 1s to " + Timeouts.MAX_KEEPALIVE_SECONDS + "s");
            return Optional.empty();
        }
        return d;
    }

    /** More than 0 and at most {@link #MAX_DURATION}. */
    private static Optional<Duration> positive(Mapping m, String key) {
        Optional<Duration> d = atMostADay(m, key);
        if (d.isPresent() && d.get().isZero()) {
            m.problems().add(m.pathOf(key), "must be more than 0");
            return Optional.empty();
        }
        return d;
    }

    /** At most {@link #MAX_DURATION}; 0 allowed. */
    private static Optional<Duration> atMostADay(Mapping m, String key) {
        Optional<Duration> d = m.duration(key);
        if (d.isPresent() && d.get().compareTo(MAX_DURATION) > 0) {
            m.problems().add(m.pathOf(key), "must be at most 24h");
            return Optional.empty();
        }
        return d;
    }

    /**
     * Empty if {@code file} is a readable regular file, else why not, naming it as {@code name} says:
     * {@code /x: no such file}, or {@code ${env:CA_FILE}: no such file} for a path from a reference.
     */
    static Optional<String> unreadable(Path file, String name) {
        try {
            if (!Files.exists(file)) {
                return Optional.of(name + ": no such file");
            }
            if (!Files.isRegularFile(file)) {
                return Optional.of(name + ": not a regular file");
            }
            if (!Files.isReadable(file)) {
                return Optional.of(name + ": not readable");
            }
        } catch (InvalidPathException | SecurityException e) {
            return Optional.of(name + ": cannot be checked");
        }
        return Optional.empty();
    }
}
