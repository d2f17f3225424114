package dev.bluegreen.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.locks.LockSupport;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One real PostgreSQL server on 127.0.0.1, run from the zonky binaries as a child process we hold.
 *
 * <p>Lifecycle: {@link Builder#start()} installs the binaries, places the data directory (see
 * {@link DataDirPlacement}), runs initdb unless the directory already holds a cluster, launches
 * {@code postgres} and returns once it answers {@code SELECT 1}. {@link #stop()} is a fast shutdown.
 * Invariants: while this object says it is running, the postmaster is registered with the JVM
 * shutdown hook, so no server outlives the JVM that started it unless the JVM is killed; and from
 * start to stop it holds its data directory's {@link DataDirLock}, so no other cluster, of this
 * process or another, starts on the same directory meanwhile.
 */
public final class PgCluster implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PgCluster.class);
    private static final String HOST = "127.0.0.1";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration RELOAD_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration LOGIN_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration POLL_INTERVAL = Duration.ofMillis(25);
    private static final int PORT_ATTEMPTS = 5;

    private final String name;
    private final String version;
    private final String superuser;
    private final String superuserPassword;
    private final Map<String, String> settings;
    private final boolean dataChecksums;
    private final int requestedPort;
    private final Path installDir;
    private final Path dataDir;
    private final Path logFile;
    private final ServerUser user;

    private volatile int port;
    private volatile Postmaster postmaster; // null while stopped
    private volatile DataDirLock lock; // null once stopped; changed under this object's monitor after start

    private PgCluster(Builder builder, Path installDir, Path dataDir, ServerUser user) {
        this.name = builder.name;
        this.version = builder.version;
        this.superuser = builder.superuser;
        this.superuserPassword = builder.superuserPassword;
        this.settings = Collections.unmodifiableMap(new LinkedHashMap<>(builder.settings)); // keeps the caller's order
        this.dataChecksums = builder.dataChecksums;
        this.requestedPort = builder.port;
        this.port = builder.port;
        this.installDir = installDir;
        this.dataDir = dataDir;
        this.logFile = dataDir.resolveSibling(dataDir.getFileName() + ".log");
        this.user = user;
    }

    public static Builder builder() {
        return new Builder();
    }

    public String name() {
        return name;
    }

    public String version() {
        return version;
    }

    public int majorVersion() {
        return majorOf(version);
    }

    public String host() {
        return HOST;
    }

    /** The port the server listens on; the one it will listen on again after a restart. */
    public int port() {
        return port;
    }

    /** Where the data really lives: the requested directory, or its fallback (see the start log). */
    public Path dataDir() {
        return dataDir;
    }

    public Path binDir() {
        return installDir.resolve("bin");
    }

    /**
     * The server's stdout and stderr, beside the data directory so that wiping data keeps it; 0600,
     * and moved to {@code <log>.1} by a start that finds it over 16 MiB.
     */
    public Path logFile() {
        return logFile;
    }

    public String superuser() {
        return superuser;
    }

    /** Null when host connections are trusted. */
    public String superuserPassword() {
        return superuserPassword;
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://" + HOST + ":" + port + "/" + database;
    }

    /** A new connection as the superuser; the caller closes it. */
    public Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database), superuserProperties(LOGIN_TIMEOUT));
    }

    /**
     * Credentials plus a bound on the whole login: whatever answers on the port (during a start,
     * maybe not postgres at all) must not keep a caller waiting forever for its first byte.
     */
    private Properties superuserProperties(Duration loginTimeout) {
        Properties properties = new Properties();
        properties.setProperty("user", superuser);
        if (superuserPassword != null) {
            properties.setProperty("password", superuserPassword);
        }
        properties.setProperty("loginTimeout", Long.toString(loginTimeout.toSeconds()));
        properties.setProperty("connectTimeout", Long.toString(loginTimeout.toSeconds()));
        properties.setProperty("ApplicationName", "bluegreen-embedded");
        return properties;
    }

    /** Runs each statement in autocommit on one connection, stopping at the first failure. */
    public void execute(String database, String... statements) {
        Connection connection;
        try {
            connection = connect(database);
        } catch (SQLException e) {
            throw new UncheckedSqlException(null, e);
        }
        try (connection; Statement statement = connection.createStatement()) {
            for (String sql : statements) {
                try {
                    statement.execute(sql);
                } catch (SQLException e) {
                    throw new UncheckedSqlException(sql, e);
                }
            }
        } catch (SQLException closing) {
            throw new UncheckedSqlException(null, closing);
        }
    }

    /**
     * Replaces pg_hba.conf with {@code lines}, behind two rules of ours that keep the superuser's
     * own access working (see {@link HbaFile}), and reloads.
     */
    public void writeHba(List<String> lines) {
        String superuserMethod = superuserPassword == null ? "trust" : "scram-sha-256";
        Path hba = dataDir.resolve("pg_hba.conf");
        try {
            NoFollow.write(hba, HbaFile.compose(superuser, superuserMethod, lines));
            user.own(hba);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + hba, e);
        }
        reload();
        log.info("pg_hba.conf replaced cluster={} rules={}", name, lines.size());
    }

    /**
     * Turns TLS on with the given PEM certificate and key, then proves it by connecting with
     * sslmode=require: the server only logs a bad key on reload and carries on without TLS.
     */
    public void enableSsl(Path certPem, Path keyPem) {
        try {
            Path cert = dataDir.resolve("server.crt");
            Path key = dataDir.resolve("server.key");
            // REPLACE_EXISTING removes the old entry and creates a new file, so a link there is replaced, not followed
            Files.copy(certPem, cert, StandardCopyOption.REPLACE_EXISTING);
            Files.copy(keyPem, key, StandardCopyOption.REPLACE_EXISTING);
            NoFollow.setPermissions(cert, PosixFilePermissions.fromString("rw-r--r--"));
            // postgres refuses a key that its group or others can read
            NoFollow.setPermissions(key, PosixFilePermissions.fromString("rw-------"));
            user.own(cert);
            user.own(key);
        } catch (IOException e) {
            throw new UncheckedIOException("could not install TLS files into " + dataDir, e);
        }
        // ALTER SYSTEM lands in postgresql.auto.conf, so TLS stays on across restarts
        execute("postgres",
                "ALTER SYSTEM SET ssl_cert_file = 'server.crt'",
                "ALTER SYSTEM SET ssl_key_file = 'server.key'",
                "ALTER SYSTEM SET ssl = on");
        reload();
        requireTls();
        log.info("ssl enabled cluster={}", name);
    }

    private void requireTls() {
        long logOffset = LogTail.end(logFile);
        Properties properties = superuserProperties(LOGIN_TIMEOUT);
        properties.setProperty("sslmode", "require");
        try (Connection connection = DriverManager.getConnection(jdbcUrl("postgres"), properties);
             Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
            if (!rs.next() || !rs.getBoolean(1)) {
                throw new IllegalStateException("cluster " + name + " accepted a connection without TLS");
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cluster " + name + " refused TLS after enableSsl; last lines of "
                    + logFile + ":\n" + LogTail.ofAttempt(logFile, logOffset), e);
        }
    }

    /**
     * Makes the server re-read its configuration and returns once new connections see it.
     * pg_reload_conf() only sends a signal; waiting for a new backend to report a newer
     * pg_conf_load_time() (inherited from the postmaster, which reloads pg_hba.conf in the same
     * step) closes the race where the next connection is still judged by the old rules.
     */
    public void reload() {
        long logOffset = LogTail.end(logFile);
        try {
            OffsetDateTime before = confLoadTime();
            try (Connection connection = connect("postgres"); Statement statement = connection.createStatement()) {
                statement.execute("SELECT pg_reload_conf()");
            }
            long deadline = System.nanoTime() + RELOAD_TIMEOUT.toNanos();
            while (!confLoadTime().isAfter(before)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("cluster " + name + " did not reload its configuration within "
                            + RELOAD_TIMEOUT + " (an error in postgresql.conf?); last lines of " + logFile + ":\n"
                            + LogTail.ofAttempt(logFile, logOffset));
                }
                LockSupport.parkNanos(POLL_INTERVAL.toNanos());
            }
        } catch (SQLException e) {
            throw new UncheckedSqlException("SELECT pg_reload_conf()", e);
        }
    }

    private OffsetDateTime confLoadTime() throws SQLException {
        try (Connection connection = connect("postgres");
             Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT pg_conf_load_time()")) {
            rs.next();
            return rs.getObject(1, OffsetDateTime.class);
        }
    }

    /** Stops and starts again on the same port and data, keeping the data directory's lock throughout. */
    public synchronized void restart() {
        stopServer();
        try {
            if (lock == null) {
                lock = DataDirLock.acquire(dataDir, name);
            }
            launch();
        } catch (IOException e) {
            stop();
            throw new UncheckedIOException("could not restart cluster " + name, e);
        } catch (RuntimeException e) {
            stop();
            throw e;
        }
    }

    /**
     * Fast shutdown (SIGINT), escalating to SIGQUIT and SIGKILL, then releases the data directory;
     * a no-op when stopped.
     */
    public synchronized void stop() {
        stopServer();
        DataDirLock held = lock;
        lock = null;
        if (held != null) {
            try {
                held.close();
            } catch (IOException e) {
                log.warn("could not release the data directory lock cluster={} data_dir={} error=\"{}\"",
                        name, dataDir, e.getMessage());
            }
        }
    }

    private synchronized void stopServer() {
        Postmaster running = postmaster;
        if (running == null) {
            return;
        }
        running.stop(name);
        postmaster = null;
        RunningClusters.remove(this);
        log.info("cluster stopped cluster={} pid={}", name, running.pid());
    }

    public boolean isRunning() {
        Postmaster running = postmaster;
        return running != null && running.isAlive();
    }

    /** The postmaster's pid, -1 when stopped. */
    public long pid() {
        Postmaster running = postmaster;
        return running == null ? -1 : running.pid();
    }

    @Override
    public void close() {
        stop();
    }

    @Override
    public String toString() {
        return "PgCluster[" + name + " " + version + " " + HOST + ":" + port + " " + dataDir + "]";
    }

    // ---- starting ---------------------------------------------------------------------------

    private static PgCluster start(Builder builder) throws IOException {
        Path installDir = PostgresBinaries.install(builder.version);
        ServerUser user = ServerUser.current();
        Optional<Path> hidingBinaries = DataDirPlacement.firstBlockingAncestor(installDir.resolve("bin/postgres"), user);
        if (hidingBinaries.isPresent()) {
            throw new IOException(user + " cannot traverse " + hidingBinaries.get() + " to run the binaries in "
                    + installDir + "; point " + PostgresBinaries.CACHE_ENV + " at a directory it can read");
        }
        Path requested = builder.dataDir.toAbsolutePath().normalize();
        Optional<Path> blocking = DataDirPlacement.firstBlockingAncestor(requested, user);
        Path dataDir = blocking.isPresent() ? DataDirPlacement.fallbackFor(requested) : requested;
        if (blocking.isPresent()) {
            log.info("cluster data relocated cluster={} requested={} actual={} reason=\"{} cannot traverse {}\"",
                    builder.name, requested, dataDir, user, blocking.get());
        }
        PgCluster cluster = new PgCluster(builder, installDir, dataDir, user);
        if (Processes.runningAsRoot() && dataDir.startsWith(Dirs.SHARED_ROOT)) {
            Dirs.createTrusted(Dirs.SHARED_ROOT, dataDir.getParent());
        } else {
            Dirs.createOpen(dataDir.getParent());
        }
        // not under the cluster's monitor: a JVM exiting mid-start must be able to stop() it meanwhile
        cluster.lock = DataDirLock.acquire(dataDir, cluster.name);
        try {
            cluster.prepareDataDir(builder.wipeDataDir);
            cluster.initIfNeeded();
            cluster.launch();
        } catch (IOException | RuntimeException e) {
            cluster.stop();
            throw e;
        }
        return cluster;
    }

    private void prepareDataDir(boolean wipe) throws IOException {
        // a root JVM chowns and chmods the data directory and appends to the log: never through a link
        NoFollow.refuseLink(dataDir, "data directory");
        NoFollow.refuseLink(logFile, "log file");
        if (Files.isDirectory(dataDir)) {
            // we hold the lock, so whatever runs here was left by a process that died without stopping it
            Postmaster.clearLeftover(dataDir, name);
        }
        InitDb.clearInterrupted(dataDir, name);
        if (wipe) {
            Dirs.deleteTree(dataDir);
            Files.deleteIfExists(logFile);
            Files.deleteIfExists(ServerLog.previous(logFile));
        }
        ServerLog.prepare(logFile);
        if (!Files.isDirectory(dataDir)) {
            Files.createDirectory(dataDir);
        }
        // postgres insists on 0700 (or 0750) and on owning every file in its data directory
        NoFollow.setPermissions(dataDir, Dirs.PRIVATE);
        user.ownTree(dataDir);
    }

    /** prepareDataDir() has undone an unfinished initdb, so PG_VERSION means a cluster made to the end. */
    private void initIfNeeded() throws IOException {
        Path pgVersion = dataDir.resolve("PG_VERSION");
        if (Files.exists(pgVersion, LinkOption.NOFOLLOW_LINKS)) {
            int existing = Integer.parseInt(NoFollow.read(pgVersion).strip());
            if (existing != majorVersion()) {
                throw new IOException(dataDir + " holds a PostgreSQL " + existing + " cluster; version " + version
                        + " cannot start it (wipe it or use a " + existing + ".x version)");
            }
            log.info("reusing cluster data cluster={} data_dir={}", name, dataDir);
            return;
        }
        long started = System.nanoTime();
        boolean throwaway = "off".equals(settings.get("fsync"));
        InitDb.run(binDir(), dataDir, logFile, user,
                new InitDb.Options(superuser, superuserPassword, throwaway, dataChecksums, majorVersion()));
        log.info("cluster initialised cluster={} version={} data_dir={} took_ms={}",
                name, version, dataDir, Duration.ofNanos(System.nanoTime() - started).toMillis());
    }

    /**
     * Starts the postmaster and waits until it answers. A port picked by us can be taken by
     * someone else between the pick and the bind, so an automatic port gets a few tries.
     */
    private void launch() throws IOException {
        SettingsFile.write(dataDir, settings, user);
        int candidate = port != 0 ? port : freePort();
        for (int attempt = 1; ; attempt++) {
            long logOffset = LogTail.end(logFile);
            long started = System.nanoTime();
            port = candidate; // connect() and jdbcUrl() read it while we wait for readiness
            Postmaster launched = spawn(candidate);
            // registered before the wait, so that a JVM exiting mid-start still stops it
            postmaster = launched;
            RunningClusters.add(this);
            boolean ready;
            try {
                ready = awaitReady(launched, logOffset);
            } catch (IOException | RuntimeException e) {
                stopServer();
                throw e;
            }
            if (ready) {
                log.info("cluster started cluster={} version={} port={} pid={} data_dir={} took_ms={}",
                        name, version, port, launched.pid(), dataDir,
                        Duration.ofNanos(System.nanoTime() - started).toMillis());
                return;
            }
            stopServer(); // it exited by itself: this only forgets it
            boolean portTaken = LogTail.since(logFile, logOffset).contains("could not bind");
            if (portTaken && requestedPort == 0 && attempt < PORT_ATTEMPTS) {
                log.info("port taken, trying another cluster={} port={}", name, candidate);
                candidate = freePort();
                continue;
            }
            throw new IOException("cluster " + name + " (postgres " + version + ") exited during startup on port "
                    + candidate + "; last lines of " + logFile + ":\n" + LogTail.ofAttempt(logFile, logOffset));
        }
    }

    private Postmaster spawn(int onPort) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                binDir().resolve("postgres").toString(),
                "-D", dataDir.toString(),
                "-p", Integer.toString(onPort),
                "-c", "listen_addresses=" + HOST,
                "-c", "unix_socket_directories="));
        settings.forEach((key, value) -> {
            command.add("-c");
            command.add(key + "=" + value);
        });
        // setsid and setpriv exec postgres, so the child's pid is the postmaster's
        return new Postmaster(Processes.server(user, command, logFile).start().toHandle());
    }

    /**
     * True once the server answers SELECT 1; false if it exits first; throws at once on an error
     * that waiting cannot clear, and after the timeout otherwise (launch() then stops it).
     */
    private boolean awaitReady(Postmaster launched, long logOffset) throws IOException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        SQLException last = null;
        while (System.nanoTime() < deadline) {
            if (!launched.isAlive()) {
                return false;
            }
            if (!PostmasterPidFile.ready(dataDir, launched.pid())) {
                // not yet listening: what answers on the port now may be another server holding it, whose answer
                // (or refusal) says nothing of this one
                if (launched.awaitExit(POLL_INTERVAL)) {
                    return false;
                }
                continue;
            }
            Properties probe = superuserProperties(PROBE_TIMEOUT);
            probe.setProperty("socketTimeout", Long.toString(PROBE_TIMEOUT.toSeconds()));
            try (Connection connection = DriverManager.getConnection(jdbcUrl("postgres"), probe);
                 Statement statement = connection.createStatement()) {
                statement.execute("SELECT 1");
                return true;
            } catch (SQLException e) {
                refuseWaitingFor(e);
                last = e;
            }
            if (launched.awaitExit(POLL_INTERVAL)) {
                return false;
            }
        }
        throw new IOException("cluster " + name + " did not accept connections within " + READY_TIMEOUT
                + " (last error: " + (last == null ? "none" : last.getMessage()) + "); last lines of " + logFile
                + ":\n" + LogTail.ofAttempt(logFile, logOffset), last);
    }

    /**
     * Errors that waiting cannot clear: the server is up and answers, but not to us. Retrying them
     * until the timeout only wrote a FATAL line to the log every 25 ms for a minute.
     */
    private void refuseWaitingFor(SQLException e) throws IOException {
        String state = e.getSQLState();
        String reason;
        if ("28P01".equals(state)) {
            reason = "refused the superuser password for \"" + superuser + "\" (28P01): its data in " + dataDir
                    + " was created with another password. Start it with that password, or wipe " + dataDir
                    + " to create the cluster afresh";
        } else if ("28000".equals(state)) {
            reason = "does not let the superuser \"" + superuser + "\" in (28000: " + e.getMessage() + "): its data in "
                    + dataDir + " was created for another superuser, or its pg_hba.conf rejects this one. Start it with"
                    + " the superuser it was created with, or wipe " + dataDir + " to create the cluster afresh";
        } else if ("08004".equals(state)) {
            // pgjdbc's answer when the server asks for a password and the builder was given none
            reason = "asks for a password for the superuser \"" + superuser + "\" and none was given (08004: " + e.getMessage()
                    + "): its data in " + dataDir + " was created with one. Start it with that password, or wipe "
                    + dataDir + " to create the cluster afresh";
        } else if ("3D000".equals(state)) {
            reason = "has no database \"postgres\" (3D000): its data in " + dataDir + " is incomplete or had it"
                    + " dropped. Create it again from another database, or wipe " + dataDir + " to create the cluster afresh";
        } else {
            return;
        }
        throw new IOException("cluster " + name + " " + reason, e);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            return socket.getLocalPort();
        }
    }

    static int majorOf(String version) {
        return Integer.parseInt(version.split("\\.")[0]);
    }

    /** Collects the settings of one cluster; {@link #start()} does the work. */
    public static final class Builder {

        private String name = "pg";
        private String version = "16.9.0";
        private Path dataDir;
        private int port;
        private String superuser = "postgres";
        private String superuserPassword;
        private final Map<String, String> settings = new LinkedHashMap<>();
        private boolean dataChecksums;
        private boolean wipeDataDir;

        private Builder() {
        }

        /** Names the cluster in logs ("blue", "green"); default "pg". */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /** A zonky binaries version such as 16.9.0, 17.5.0 or 18.1.0; default 16.9.0. */
        public Builder version(String version) {
            if (!version.matches("\\d+\\.\\d+\\.\\d+")) {
                throw new IllegalArgumentException("version must look like 16.9.0, not " + version);
            }
            this.version = version;
            return this;
        }

        /**
         * Required. Created if missing; a cluster already in it is reused, one whose initdb did not
         * finish is made again. Not a symbolic link; no other cluster may use it while this one runs.
         */
        public Builder dataDir(Path dir) {
            this.dataDir = Objects.requireNonNull(dir, "dataDir");
            return this;
        }

        /** 0 (the default) picks a free port. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
            this.port = port;
            return this;
        }

        public Builder superuser(String name) {
            this.superuser = Objects.requireNonNull(name, "superuser");
            return this;
        }

        /** Null (the default) trusts host connections; otherwise scram-sha-256 with this password. */
        public Builder superuserPassword(String password) {
            this.superuserPassword = password;
            return this;
        }

        /** An extra {@code -c key=value}; a later call for the same key wins. */
        public Builder setting(String key, String value) {
            settings.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /**
         * Whether a new cluster gets data checksums; default off on every version. PostgreSQL 18's
         * initdb turns them on unless told otherwise, 16's and 17's leave them off: with the same choice
         * made here, two clusters of different versions differ only in version. (With checksums on, the
         * first hint bit set on a page after a checkpoint writes the whole page to the WAL, so reads
         * after writes cost more.) Applies when the cluster is created, not to one reused.
         */
        public Builder dataChecksums(boolean on) {
            this.dataChecksums = on;
            return this;
        }

        /**
         * Trades durability for speed, and allows the connection count a proxy test suite needs and a few
         * two-phase commits ({@code PREPARE TRANSACTION}).
         */
        public Builder forTests() {
            return setting("fsync", "off")
                    .setting("synchronous_commit", "off")
                    .setting("full_page_writes", "off")
                    .setting("max_connections", "300")
                    .setting("max_prepared_transactions", "8");
        }

        /**
         * Deletes whatever the data directory holds, and the logs beside it, before starting: at
         * the real location (after any fallback), once a leftover server on it has been stopped.
         */
        public Builder wipeDataDir() {
            this.wipeDataDir = true;
            return this;
        }

        public PgCluster start() throws IOException {
            if (dataDir == null) {
                throw new IllegalStateException("dataDir is required");
            }
            return PgCluster.start(this);
        }
    }
}
