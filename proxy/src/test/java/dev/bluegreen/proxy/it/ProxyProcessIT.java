package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.Signals;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The executable jar as an operator runs it: flags, a bad config file, SIGTERM, the embedded default. */
@ExtendWith(BlueGreenClusters.class)
class ProxyProcessIT {

    private static final Path JAR = Path.of("target", "bluegreen-proxy.jar");
    /** The tests' config files and state directories: deleted, with what they hold, after the last test. */
    @TempDir
    static Path scratch;

    /** A started proxy process whose output lines are collected as they arrive. */
    static final class ProxyProcess implements AutoCloseable {
        final Process process;
        /** Copied on write: awaitLine streams it while the reader appends (a synchronized list's stream is not safe). */
        final List<String> lines = new CopyOnWriteArrayList<>();
        private final Thread reader;

        ProxyProcess(String... args) throws IOException {
            List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                    "-jar", JAR.toString()));
            command.addAll(List.of(args));
            if (!command.contains("--admin")) {
                // not the default 127.0.0.1:9432, which a proxy the developer runs beside the tests may hold
                command.addAll(List.of("--admin", "127.0.0.1:" + FreePorts.next()));
            }
            if (!command.contains("--state-dir")) {
                // the routing state is kept there: each test starts from blue alone
                command.addAll(List.of("--state-dir", Files.createTempDirectory(scratch, "bluegreen-state").toString()));
            }
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
            reader = Thread.ofVirtual().start(() -> {
                try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = reader.readLine()) != null) {
                        lines.add(line);
                    }
                } catch (IOException ignored) {
                    // process ended
                }
            });
        }

        void awaitLine(String fragment, Duration within) {
            await().atMost(within).until(() -> {
                if (!process.isAlive() && lines.stream().noneMatch(l -> l.contains(fragment))) {
                    throw new AssertionError("proxy exited " + process.exitValue() + ":\n" + String.join("\n", lines));
                }
                return lines.stream().anyMatch(l -> l.contains(fragment));
            });
        }

        /** SIGTERM. Not {@link Process#destroy()}: it also closes the pipe, and what the proxy says then is lost. */
        void sigterm() {
            process.toHandle().destroy();
        }

        /** Any signal by name, with the shell's kill: Java sends only TERM and KILL. */
        void signal(String name) throws IOException, InterruptedException {
            Process kill = new ProcessBuilder(Signals.command(process.pid(), name)).inheritIO().start();
            assertThat(kill.waitFor()).as("kill -s " + name).isZero();
        }

        int awaitExit(Duration within) throws InterruptedException {
            assertThat(process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS)).as("exited; output:\n%s", lines).isTrue();
            // what the process wrote before it exited may still be in the pipe: lines is whole once read to its end
            assertThat(reader.join(within)).as("the proxy's output read to its end").isTrue();
            return process.exitValue();
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    @Test
    void anInvalidConfigFileExitsWithCodeTwoAndOneLinePerProblem() throws Exception {
        Path file = Files.createTempFile(scratch, "bluegreen", ".yaml");
        Files.writeString(file, String.join("\n",
                "listen: \"127.0.0.1:6432\"",
                "clusters:",
                "  blue: { host: db, port: 99999, hots: typo }",
                "timeouts: { startup: ten }",
                ""));
        try (ProxyProcess proxy = new ProxyProcess("--config", file.toString())) {
            assertThat(proxy.awaitExit(Duration.ofSeconds(30))).isEqualTo(2);
            assertThat(proxy.lines).contains(
                    "clusters.blue.port: must be between 1 and 65535",
                    "clusters.blue.hots: unknown key")
                    .anyMatch(line -> line.startsWith("timeouts.startup: "));
        }
    }

    @Test
    void passwordsNeverReachTheLogsEvenWhenLoginsFail(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        int port = FreePorts.next();
        String secret = "Sup3r-Secret-Pw";
        int closedPort = FreePorts.next();
        try (ProxyProcess proxy = new ProxyProcess("--listen", "127.0.0.1:" + port,
                "--blue", "postgresql://app:" + secret + "@127.0.0.1:" + closedPort + "/postgres")) {
            proxy.awaitLine("bluegreen listening on", Duration.ofSeconds(30));
            String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=" + blue.superuser() + "&password=" + secret;

            SQLException refused = catchThrowableOfType(SQLException.class, () -> DriverManager.getConnection(url).close());

            assertThat(refused.getMessage()).contains("could not connect to cluster blue").doesNotContain(secret);
            proxy.sigterm();
            assertThat(proxy.awaitExit(Duration.ofSeconds(30))).isZero();
            assertThat(proxy.lines).isNotEmpty().noneMatch(line -> line.contains(secret));
        }
    }

    /**
     * What a client sends before it has logged in can reach the log (here the user name of a SCRAM exchange
     * it breaks): a line break in it must not start a line of the client's making, which could pass for the
     * proxy's own (a cutover nobody made).
     */
    @Test
    void aClientCannotForgeLogLines(TestClusters clusters) throws Exception {
        Path file = Files.createTempFile(scratch, "bluegreen", ".yaml");
        Files.writeString(file, String.join("\n",
                "users:",
                "  - { name: alice, auth: scram-sha-256, password: alice-pw }",
                ""));
        int port = FreePorts.next();
        try (ProxyProcess proxy = new ProxyProcess("--config", file.toString(), "--listen", "127.0.0.1:" + port,
                "--blue", "postgresql://" + clusters.blue().superuser() + "@127.0.0.1:" + clusters.blue().port() + "/postgres")) {
            proxy.awaitLine("bluegreen listening on", Duration.ofSeconds(30));
            try (RawClient client = new RawClient(port)) {
                client.startup(Map.of("user", "mallory\nFORGED routing state changed command=cutover\u001b[2J\u2028FORGED2", "database", "postgres"));
                assertThat(client.read().type()).as("AuthenticationSASL").isEqualTo('R');
                byte[] mechanism = "SCRAM-SHA-256\0".getBytes(StandardCharsets.UTF_8);
                byte[] data = "garbage".getBytes(StandardCharsets.UTF_8);
                client.send(RawClient.message('p', ByteBuffer.allocate(mechanism.length + 4 + data.length)
                        .put(mechanism).putInt(data.length).put(data).array()));
                assertThat(client.read().sqlState()).isEqualTo("08P01");
            }
            proxy.awaitLine("client SCRAM exchange malformed", Duration.ofSeconds(30));
            proxy.sigterm();
            assertThat(proxy.awaitExit(Duration.ofSeconds(30))).isZero();
            assertThat(proxy.lines).noneMatch(line -> line.startsWith("FORGED")).noneMatch(line -> line.contains("\u001b"))
                    .anyMatch(line -> line.contains("user=mallory?FORGED routing state changed command=cutover?[2J?FORGED2"));
        }
    }

    @Test
    void aNonLoopbackListenerWithoutClientAuthenticationIsRefusedAtStartup() throws Exception {
        try (ProxyProcess proxy = new ProxyProcess("--listen", "0.0.0.0:" + FreePorts.next(),
                "--blue", "postgresql://postgres@127.0.0.1:5432/postgres")) {
            assertThat(proxy.awaitExit(Duration.ofSeconds(30))).isEqualTo(2);
            assertThat(proxy.lines).anyMatch(line -> line.startsWith("--listen: a non-loopback listener")
                    && line.contains("needs client authentication"));
        }
    }

    /** Users given auth trust on a listener beyond loopback are allowed, as in pg_hba.conf, but said so at startup. */
    @Test
    void trustedUsersOnANonLoopbackListenerAreWarnedAbout(TestClusters clusters) throws Exception {
        Path config = Files.createTempFile(scratch, "bluegreen-trust", ".yaml");
        Files.writeString(config, "users:\n  - { name: app, auth: trust }\n  - { name: ops, auth: md5, password: secret }\n");
        try (ProxyProcess proxy = new ProxyProcess("--config", config.toString(), "--listen", "0.0.0.0:" + FreePorts.next(),
                "--blue", "postgresql://" + clusters.blue().superuser() + "@127.0.0.1:" + clusters.blue().port() + "/postgres")) {
            proxy.awaitLine("users with auth trust on a listener beyond loopback", Duration.ofSeconds(30));
            assertThat(proxy.lines).anyMatch(line -> line.contains("users with auth trust") && line.contains("users=[app]"));
        }
    }

    /**
     * While sessions drain the proxy still listens, as Postgres does when it shuts down: a new session is
     * refused with 57P03, and a cancel request still reaches the query it names, so a query timeout
     * works while a transaction finishes.
     */
    @Test
    void sigtermLetsAnOpenTransactionFinishThenExitsZero(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        blue.execute("postgres", "create table if not exists drained (id int)");
        int port = FreePorts.next();
        try (ProxyProcess proxy = new ProxyProcess("--listen", "127.0.0.1:" + port,
                "--blue", "postgresql://" + blue.superuser() + "@127.0.0.1:" + blue.port() + "/postgres")) {
            proxy.awaitLine("bluegreen listening on", Duration.ofSeconds(30));
            String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=" + blue.superuser();
            try (Connection inTransaction = DriverManager.getConnection(url); Statement s = inTransaction.createStatement()) {
                inTransaction.setAutoCommit(false);
                s.execute("insert into drained values (1)");

                proxy.sigterm();
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThatThrownBy(
                        () -> DriverManager.getConnection(url).close())
                        .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("57P03")));

                Savepoint beforeSleep = inTransaction.setSavepoint();
                s.setQueryTimeout(1); // a cancel request on a connection of its own; without it the sleep takes 30 s
                assertThatThrownBy(() -> s.execute("select pg_sleep(30)"))
                        .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("57014"));
                inTransaction.rollback(beforeSleep);
                s.setQueryTimeout(0);
                s.execute("insert into drained values (2)");
                inTransaction.commit();
                SQLException closed = catchThrowableOfType(SQLException.class, () -> s.execute("select 1"));
                assertThat((Throwable) closed).as("the session is closed once its transaction ended").isNotNull();
            }
            assertThat(proxy.awaitExit(Duration.ofSeconds(30))).isZero();
        }
        try (Connection direct = blue.connect("postgres"); Statement s = direct.createStatement();
             ResultSet rs = s.executeQuery("select count(*) from drained where id in (1, 2)")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(2);
        }
    }

    /**
     * SIGHUP (the terminal closed) starts the same graceful shutdown as SIGTERM, and a second signal ends its
     * grace at once: the session still in its transaction is closed then, not after the 30 s grace. Before,
     * SIGHUP was the JVM's own exit (no drain, the state store left as after a crash), and a second signal did
     * nothing.
     */
    @Test
    void sighupDrainsLikeSigtermAndASecondSignalEndsTheGraceAtOnce(TestClusters clusters) throws Exception {
        // under nohup SIGHUP is ignored, and stays ignored in the proxy started from here: nothing to test then
        assumeFalse(Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(line -> line.startsWith("SigIgn:"))
                .anyMatch(line -> (Long.parseLong(line.substring(7).strip(), 16) & 1) != 0), "SIGHUP is ignored here");
        PgCluster blue = clusters.blue();
        int port = FreePorts.next();
        Path stateDir = Files.createTempDirectory(scratch, "bluegreen-hup");
        try (ProxyProcess proxy = new ProxyProcess("--listen", "127.0.0.1:" + port, "--state-dir", stateDir.toString(),
                "--blue", "postgresql://" + blue.superuser() + "@127.0.0.1:" + blue.port() + "/postgres")) {
            proxy.awaitLine("bluegreen listening on", Duration.ofSeconds(30));
            String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=" + blue.superuser();
            try (Connection inTransaction = DriverManager.getConnection(url); Statement s = inTransaction.createStatement()) {
                inTransaction.setAutoCommit(false);
                s.execute("select 1");

                proxy.signal("HUP");
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThatThrownBy(
                        () -> DriverManager.getConnection(url).close())
                        .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("57P03")));
                long secondSignal = System.nanoTime();
                proxy.signal("TERM");

                assertThat(proxy.awaitExit(Duration.ofSeconds(20))).isZero();
                assertThat(Duration.ofNanos(System.nanoTime() - secondSignal)).isLessThan(Duration.ofSeconds(15));
                assertThat(proxy.lines).anyMatch(line -> line.contains("grace ended early"));
                assertThat(stateDir.resolve("running")).as("the state store closed cleanly").doesNotExist();
            }
        } finally {
            deleteRecursively(stateDir);
        }
    }

    /**
     * A connection opened just before SIGTERM that has not said what it is yet may be a cancel request on
     * its way: it is not closed with the rest, and its cancel still reaches the query.
     */
    @Test
    void aConnectionOpenedBeforeSigtermCanStillCancel(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        int port = FreePorts.next();
        try (ProxyProcess proxy = new ProxyProcess("--listen", "127.0.0.1:" + port,
                "--blue", "postgresql://" + blue.superuser() + "@127.0.0.1:" + blue.port() + "/postgres");
             RawClient session = new RawClient(waitForPort(proxy, port))) {
            session.startup(java.util.Map.of("user", blue.superuser(), "database", "postgres"));
            java.nio.ByteBuffer key = java.nio.ByteBuffer.wrap(session.readUntil('K').body());
            int processId = key.getInt();
            int secret = key.getInt();
            session.readUntil('Z');
            session.send(RawClient.query("select pg_sleep(30)"));
            try (RawClient canceller = new RawClient(port);
                 RawClient idle = new RawClient(port).loggedIn(blue.superuser())) {
                proxy.sigterm(); // with the canceller connected but silent
                // the drain has reached the sessions: an idle one is closed
                assertThat(idle.readUntil('E').sqlState()).isEqualTo("57P01");

                canceller.send(java.nio.ByteBuffer.allocate(16).putInt(16).putInt(80877102).putInt(processId).putInt(secret).array());

                RawClient.Message error = session.readUntil('E');
                assertThat(error.sqlState()).isEqualTo("57014");
            }
            assertThat(proxy.awaitExit(Duration.ofSeconds(30))).isZero();
        }
    }

    private static int waitForPort(ProxyProcess proxy, int port) {
        proxy.awaitLine("bluegreen listening on", Duration.ofSeconds(30));
        return port;
    }

    @Test
    void theEmbeddedDefaultStartsBothClustersReusesTheirDataAndStopsCleanly() throws Exception {
        Path stateDir = Path.of("target", "embedded-default-it").toAbsolutePath();
        deleteRecursively(stateDir);
        int port = FreePorts.next();
        String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=postgres";

        try (ProxyProcess first = new ProxyProcess("--embedded", "--state-dir", stateDir.toString(), "--listen", "127.0.0.1:" + port)) {
            first.awaitLine("Ctrl-C stops", Duration.ofMinutes(3));
            assertThat(first.lines).anyMatch(l -> l.contains("psql \"postgresql://postgres@127.0.0.1:" + port + "/postgres\""))
                    .anyMatch(l -> l.contains("blue   PostgreSQL 16.9.0"))
                    .anyMatch(l -> l.contains("green  PostgreSQL 18.1.0"))
                    .anyMatch(l -> l.contains("Every local client is trusted, and works on both clusters as postgres"));
            try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=nosuchuser"); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("select current_user")) {
                rs.next();
                assertThat(rs.getString(1)).as("what the banner says").isEqualTo("postgres");
            }
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                try (ResultSet rs = s.executeQuery("show server_version_num")) {
                    rs.next();
                    assertThat(rs.getInt(1) / 10000).isEqualTo(16);
                }
                s.execute("create table kept (v text)");
                s.execute("insert into kept values ('still here')");
            }
            first.sigterm();
            assertThat(first.awaitExit(Duration.ofSeconds(60))).isZero();
        }
        assertThat(postgresProcessesUnder(stateDir)).as("no postgres left behind").isEmpty();

        try (ProxyProcess second = new ProxyProcess("--embedded", "--state-dir", stateDir.toString(), "--listen", "127.0.0.1:" + port)) {
            second.awaitLine("Ctrl-C stops", Duration.ofMinutes(2));
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("select v from kept")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("still here");
            }
            second.sigterm();
            assertThat(second.awaitExit(Duration.ofSeconds(60))).isZero();
        }
        assertThat(postgresProcessesUnder(stateDir)).isEmpty();
    }

    /** Embedded clusters that cannot start are one line and exit code 1, not a stack trace. */
    @Test
    void embeddedClustersThatCannotStartAreReportedInOneLine() throws Exception {
        Path stateDir = Files.createTempDirectory(scratch, "bluegreen-embedded-blocked");
        Files.writeString(stateDir.resolve("embedded"), "a file where the clusters' directory belongs\n");
        try (ProxyProcess proxy = new ProxyProcess("--embedded", "--state-dir", stateDir.toString(),
                "--listen", "127.0.0.1:" + FreePorts.next(), "--admin", "127.0.0.1:" + FreePorts.next())) {
            assertThat(proxy.awaitExit(Duration.ofSeconds(60))).isEqualTo(1);
            assertThat(proxy.lines).anyMatch(l -> l.startsWith("bluegreen: cannot start the embedded clusters: "))
                    .noneMatch(l -> l.startsWith("\tat ") || l.contains("Exception in thread"));
        } finally {
            deleteRecursively(stateDir);
        }
    }

    /** SIGTERM while the embedded clusters start: they stop again, and the proxy never opens its listeners. */
    @Test
    void aSigtermWhileTheEmbeddedClustersStartStopsThemWithoutStartingTheProxy() throws Exception {
        Path stateDir = Path.of("target", "embedded-stopped-early-it").toAbsolutePath();
        deleteRecursively(stateDir);
        try (ProxyProcess proxy = new ProxyProcess("--embedded", "--state-dir", stateDir.toString(),
                "--listen", "127.0.0.1:" + FreePorts.next(), "--admin", "127.0.0.1:" + FreePorts.next())) {
            proxy.awaitLine("cluster started cluster=blue", Duration.ofMinutes(2)); // green's initdb comes next
            proxy.sigterm();
            assertThat(proxy.awaitExit(Duration.ofSeconds(60))).isZero();
            assertThat(proxy.lines).as("the proxy's output").noneMatch(l -> l.contains("Ctrl-C stops"))
                    .noneMatch(l -> l.contains("listening"));
        }
        assertThat(postgresProcessesUnder(stateDir)).as("no postgres left behind").isEmpty();
        deleteRecursively(stateDir);
    }

    @Test
    void theAdminApiTakesItsTokenFromTheFileItIsGiven(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        Path dir = Files.createTempDirectory(scratch, "bluegreen-admin");
        String token = "process-" + System.nanoTime();
        Path tokenFile = Files.writeString(dir.resolve("token"), token + "\n");
        int admin = FreePorts.next();
        try (ProxyProcess proxy = new ProxyProcess("--listen", "127.0.0.1:" + FreePorts.next(),
                "--blue", "postgresql://" + blue.superuser() + "@127.0.0.1:" + blue.port() + "/postgres",
                "--admin", "127.0.0.1:" + admin, "--admin-token-file", tokenFile.toString(),
                "--state-dir", dir.resolve("state").toString())) {
            proxy.awaitLine("admin API on http://127.0.0.1:" + admin, Duration.ofSeconds(30));

            assertThat(adminStatus(admin, "/health", null)).isEqualTo(200);
            assertThat(adminStatus(admin, "/api/v1/state", token)).isEqualTo(200);
            assertThat(adminStatus(admin, "/api/v1/state", "other")).isEqualTo(401);
            assertThat(String.join("\n", proxy.lines)).contains("token: file " + tokenFile).doesNotContain(token);
            assertThat(dir.resolve("state").resolve("admin-token")).doesNotExist();
        } finally {
            deleteRecursively(dir);
        }
    }

    @Test
    void aMissingAdminTokenFileExitsWithCodeTwo() throws Exception {
        Path missing = Path.of("target", "no-such-token-" + System.nanoTime());
        try (ProxyProcess proxy = new ProxyProcess("--listen", "127.0.0.1:" + FreePorts.next(),
                "--blue", "postgresql://nobody@127.0.0.1:1/postgres", "--admin", "127.0.0.1:" + FreePorts.next(),
                "--admin-token-file", missing.toString())) {
            assertThat(proxy.awaitExit(Duration.ofSeconds(30))).isEqualTo(2);
            assertThat(proxy.lines).contains("admin token file " + missing + " does not exist");
        }
    }

    /**
     * The refused second start must not write into the directory it was refused: its fresh token would
     * replace the running proxy's, and bgctl, reading the file, would be locked out of the running proxy.
     */
    @Test
    void aSecondProxyOnTheSameStateDirectoryIsRefusedAndLeavesTheRunningOneItsToken(TestClusters clusters)
            throws Exception {
        secondProxyOnTheSameStateDirectoryIsRefused(clusters.blue());
    }

    /**
     * The same with the {@code postgres} store, which several instances share: the state directory is still
     * each instance's own (its token lives there). Before, only the file store locked it, and a second
     * instance given the same directory replaced the running one's token.
     */
    @Test
    void aSecondProxyOnThePostgresStoreWithTheSameStateDirectoryIsRefusedAndLeavesTheRunningOneItsToken(
            TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        String database = "bluegreen_state_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        blue.execute("postgres", "CREATE DATABASE " + database);
        String store = "postgresql://" + blue.superuser() + "@127.0.0.1:" + blue.port() + "/" + database;
        Path tokenFile = Files.createTempFile(scratch, "bluegreen-token", "");
        Path readOnly = Files.createTempDirectory(scratch, "bluegreen-read-only");
        try {
            secondProxyOnTheSameStateDirectoryIsRefused(blue, "--state-store", store);

            // an instance given its token writes nothing into its state directory, and needs none it can write
            Files.writeString(tokenFile, "replica-token\n");
            readOnly.toFile().setWritable(false, false);
            int admin = FreePorts.next();
            try (ProxyProcess replica = new ProxyProcess("--listen", "127.0.0.1:" + FreePorts.next(), "--admin",
                    "127.0.0.1:" + admin, "--state-store", store, "--admin-token-file", tokenFile.toString(),
                    "--state-dir", readOnly.resolve("never-made").toString(),
                    "--blue", "postgresql://" + blue.superuser() + "@127.0.0.1:" + blue.port() + "/postgres")) {
                replica.awaitLine("admin API on http://127.0.0.1:" + admin, Duration.ofSeconds(30));
                assertThat(adminStatus(admin, "/api/v1/state", "replica-token")).isEqualTo(200);
            }
            assertThat(readOnly.resolve("never-made")).doesNotExist();
        } finally {
            readOnly.toFile().setWritable(true, false);
            deleteRecursively(readOnly);
            Files.delete(tokenFile);
            blue.execute("postgres", "DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
        }
    }

    private static void secondProxyOnTheSameStateDirectoryIsRefused(PgCluster blue, String... more) throws Exception {
        Path stateDir = Files.createTempDirectory(scratch, "bluegreen-shared-state");
        String blueUrl = "postgresql://" + blue.superuser() + "@127.0.0.1:" + blue.port() + "/postgres";
        int admin = FreePorts.next();
        try (ProxyProcess running = new ProxyProcess(arguments(more, "--listen", "127.0.0.1:" + FreePorts.next(), "--blue",
                blueUrl, "--admin", "127.0.0.1:" + admin, "--state-dir", stateDir.toString()))) {
            running.awaitLine("admin API on http://127.0.0.1:" + admin, Duration.ofSeconds(30));
            String token = Files.readString(stateDir.resolve("admin-token")).strip();

            try (ProxyProcess second = new ProxyProcess(arguments(more, "--listen", "127.0.0.1:" + FreePorts.next(), "--blue",
                    blueUrl, "--admin", "127.0.0.1:" + FreePorts.next(), "--state-dir", stateDir.toString()))) {
                assertThat(second.awaitExit(Duration.ofSeconds(30))).isEqualTo(1);
                assertThat(second.lines).anyMatch(line -> line.contains("another bluegreen proxy is using"));
            }

            assertThat(Files.readString(stateDir.resolve("admin-token")).strip()).isEqualTo(token);
            assertThat(adminStatus(admin, "/api/v1/state", token)).isEqualTo(200);
        } finally {
            deleteRecursively(stateDir);
        }
    }

    private static String[] arguments(String[] more, String... first) {
        String[] all = Arrays.copyOf(first, first.length + more.length);
        System.arraycopy(more, 0, all, first.length, more.length);
        return all;
    }

    /** A taken SQL port is named in the one-line refusal, as the admin API's is; Netty's own message names neither. */
    @Test
    void aTakenListenPortIsNamedWhenTheProxyCannotStart(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"));
             ProxyProcess proxy = new ProxyProcess("--listen", "127.0.0.1:" + taken.getLocalPort(),
                     "--admin", "127.0.0.1:" + FreePorts.next(),
                     "--blue", "postgresql://" + blue.superuser() + "@127.0.0.1:" + blue.port() + "/postgres")) {
            assertThat(proxy.awaitExit(Duration.ofSeconds(30))).isEqualTo(1);
            assertThat(proxy.lines).anyMatch(line -> line.startsWith(
                    "bluegreen: cannot start: cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": "));
        }
    }

    /** The embedded default finds a taken port before it makes and starts two clusters, and says how to move it. */
    @Test
    void theEmbeddedDefaultFindsATakenPortBeforeItStartsTheClusters() throws Exception {
        Path stateDir = Files.createTempDirectory(scratch, "bluegreen-embedded-taken");
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"));
             ProxyProcess proxy = new ProxyProcess("--embedded", "--state-dir", stateDir.toString(),
                     "--listen", "127.0.0.1:" + FreePorts.next(), "--admin", "127.0.0.1:" + taken.getLocalPort())) {
            assertThat(proxy.awaitExit(Duration.ofSeconds(30))).isEqualTo(1);
            assertThat(proxy.lines).anyMatch(line -> line.equals("bluegreen: cannot start: cannot listen on 127.0.0.1:"
                            + taken.getLocalPort() + ": Address already in use (another address: --admin HOST:PORT)"))
                    .noneMatch(line -> line.contains("cluster started"));
            assertThat(stateDir.resolve("embedded")).doesNotExist();
        } finally {
            deleteRecursively(stateDir);
        }
    }

    @Test
    void anAdminTokenFileWithAByteOrderMarkExitsWithCodeTwoWithoutShowingTheToken() throws Exception {
        Path tokenFile = Files.createTempFile(scratch, "bluegreen-token", "");
        Files.writeString(tokenFile, "\uFEFFwindows-notepad-secret\r\n");
        try (ProxyProcess proxy = new ProxyProcess("--listen", "127.0.0.1:" + FreePorts.next(),
                "--blue", "postgresql://nobody@127.0.0.1:1/postgres", "--admin", "127.0.0.1:" + FreePorts.next(),
                "--admin-token-file", tokenFile.toString())) {
            assertThat(proxy.awaitExit(Duration.ofSeconds(30))).isEqualTo(2);
            assertThat(proxy.lines).contains("admin token file " + tokenFile
                    + ": the token must be printable ASCII, but character 1 is a byte order mark (U+FEFF);"
                    + " save it without one").noneMatch(line -> line.contains("notepad-secret"));
        } finally {
            Files.delete(tokenFile);
        }
    }

    private static int adminStatus(int port, String path, String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(request.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        }
    }

    private static List<Long> postgresProcessesUnder(Path stateDir) {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().map(c -> c.contains("postgres") && c.contains(stateDir.toString())).orElse(false))
                .map(ProcessHandle::pid)
                .toList();
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }
}
