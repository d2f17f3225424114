package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.bluegreen.config.AuthMethod;
import dev.bluegreen.config.ClientTls;
import dev.bluegreen.config.Secret;
import dev.bluegreen.config.User;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** psql and pgbench (libpq) through the proxy, where the machine has them; .ci/run installs them. */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class CommandLineClientsIT {

    private static final String DATABASE = "clitools";
    private static PgCluster blue;
    private static TestProxy proxy;

    record Outcome(int exitCode, String stdout, String stderr) {}

    @BeforeAll
    static void start(TestClusters clusters) throws Exception {
        blue = clusters.blue();
        blue.execute("postgres", "drop database if exists " + DATABASE, "create database " + DATABASE);
        proxy = TestProxy.in(blue).start();
    }

    @AfterAll
    static void stop() {
        proxy.close();
    }

    /** Skips where the machine lacks the tool, but fails under CI, whose .ci/run must have installed it. */
    static void requireTool(String tool) {
        boolean present = runs(tool);
        if (!present && System.getenv("CI") != null) {
            throw new AssertionError(tool + " is not installed, but CI must run this test: .ci/run installs it");
        }
        assumeTrue(present, tool + " is not installed");
    }

    /**
     * Whether {@code tool --version} runs: Debian's /usr/bin/pgbench is a pg_wrapper link that is
     * there even when the program is not.
     */
    private static boolean runs(String tool) {
        try {
            Process process = new ProcessBuilder(tool, "--version").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return process.waitFor(30, TimeUnit.SECONDS) && process.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static Outcome run(List<String> command) throws IOException, InterruptedException {
        return run(command, Map.of());
    }

    private static Outcome run(List<String> command, Map<String, String> environment) throws IOException, InterruptedException {
        Path out = Files.createTempFile("bg-cli", ".out");
        Path err = Files.createTempFile("bg-cli", ".err");
        ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().put("PGCONNECT_TIMEOUT", "10");
        builder.environment().putAll(environment);
        try {
            Process process = builder.start();
            if (!process.waitFor(5, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                throw new AssertionError("timed out: " + command);
            }
            return new Outcome(process.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.delete(out);
            Files.delete(err);
        }
    }

    private static List<String> connection() {
        return List.of("-h", "127.0.0.1", "-p", String.valueOf(proxy.port()), "-U", blue.superuser());
    }

    private static long queryBlue(String sql) throws SQLException {
        try (Connection direct = blue.connect(DATABASE); Statement s = direct.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void aPsqlScriptWithCopyAndAnErrorRunsAsOnBlue(@TempDir Path dir) throws Exception {
        requireTool("psql");
        Path csv = dir.resolve("items.csv");
        Files.writeString(csv, "1,apple\n2,pear\n3,plum\n", StandardCharsets.UTF_8);
        Path script = dir.resolve("script.sql");
        Files.writeString(script, String.join("\n",
                "create table items (id int primary key, name text);",
                "\\copy items from '" + csv + "' with (format csv)",
                "insert into items values (4, 'fig'); insert into items values (5, 'kiwi');",
                "select 1/0;",
                "select count(*) as n from items;",
                "\\copy (select name from items order by id) to '" + dir.resolve("out.csv") + "' with (format csv)",
                ""), StandardCharsets.UTF_8);
        List<String> command = new ArrayList<>(List.of("psql"));
        command.addAll(connection());
        command.addAll(List.of("-d", DATABASE, "-X", "-v", "ON_ERROR_STOP=0", "-f", script.toString()));

        Outcome outcome = run(command);

        assertThat(outcome.exitCode()).isZero();
        assertThat(outcome.stderr()).contains("division by zero");
        assertThat(outcome.stdout()).contains("COPY 3").containsPattern("n\\s*\\n-+\\s*\\n\\s*5");
        assertThat(queryBlue("select count(*) from items")).isEqualTo(5);
        assertThat(Files.readString(dir.resolve("out.csv"))).isEqualTo("apple\npear\nplum\nfig\nkiwi\n");
    }

    @ParameterizedTest
    @ValueSource(strings = {"simple", "extended", "prepared"})
    void pgbenchRunsWithZeroErrors(String protocol) throws Exception {
        requireTool("pgbench");
        List<String> init = new ArrayList<>(List.of("pgbench", "-i", "-s", "1", "-q"));
        init.addAll(connection());
        init.add(DATABASE);
        Outcome initialised = run(init);
        assertThat(initialised.exitCode()).as(initialised.stderr()).isZero();
        long historyBefore = queryBlue("select count(*) from pgbench_history");

        List<String> bench = new ArrayList<>(List.of("pgbench", "-n", "-c", "4", "-j", "2", "-t", "250", "--protocol=" + protocol));
        bench.addAll(connection());
        bench.add(DATABASE);
        Outcome outcome = run(bench);

        assertThat(outcome.exitCode()).as(outcome.stderr()).isZero();
        // pgbench 15 and later also count failed transactions; earlier ones end a client at its first error
        assertThat(outcome.stdout()).contains("number of transactions actually processed: 1000/1000")
                .doesNotContainPattern("number of failed transactions: [1-9]");
        assertThat(queryBlue("select count(*) from pgbench_history") - historyBefore).isEqualTo(1000);
        assertThat(queryBlue("select count(*) from pgbench_accounts")).isEqualTo(100_000);
    }

    /**
     * libpq's SCRAM: it sends an empty SCRAM user name ({@code n=,r=...}), where pgjdbc sends {@code n=*}.
     * An unknown name is asked for a password like a known one and fails the same way, so that which
     * names exist cannot be probed.
     */
    @Test
    void psqlLogsInWithScramAndAnUnknownNameLooksLikeAWrongPassword() throws Exception {
        requireTool("psql");
        try (TestProxy scram = TestProxy.in(blue).backendLogin(blue.superuser(), null)
                .user(new User("alice", AuthMethod.SCRAM_SHA_256, Secret.of("alice-pw"))).start()) {
            Outcome in = psqlAs(scram, "alice", "alice-pw");
            Outcome wrong = psqlAs(scram, "alice", "wrong");
            Outcome unknown = psqlAs(scram, "mallory", "anything");
            Outcome noPassword = psqlAs(scram, "mallory", null);

            assertThat(in.exitCode()).as(in.stderr()).isZero();
            assertThat(in.stdout()).contains("logged in");
            assertThat(wrong.exitCode()).isEqualTo(2);
            assertThat(wrong.stderr()).contains("password authentication failed for user \"alice\"");
            assertThat(unknown.exitCode()).isEqualTo(2);
            assertThat(unknown.stderr()).contains("password authentication failed for user \"mallory\"");
            assertThat(noPassword.stderr()).as("asked for a password, not refused at once").contains("no password supplied");
        }
    }

    /**
     * libpq's channel binding: over TLS it binds its SCRAM login to the proxy's certificate, hashed by libpq itself;
     * with {@code channel_binding=require} it logs in only so (before, the proxy offered no SCRAM-SHA-256-PLUS and
     * psql refused), with the right password only.
     */
    @Test
    void psqlBindsItsScramLoginToTheProxysCertificate() throws Exception {
        requireTool("psql");
        Certificates.Issued certificate = Certificates.newAuthority(Path.of("target", "cli-certs").toAbsolutePath(), "cli")
                .issue("proxy", "proxy", Certificates.ip("127.0.0.1"));
        try (TestProxy bound = TestProxy.in(blue).backendLogin(blue.superuser(), null)
                .clientTls(new ClientTls(certificate.certificate(), certificate.privateKey(), true))
                .user(new User("alice", AuthMethod.SCRAM_SHA_256, Secret.of("alice-pw"))).start()) {
            Map<String, String> required = Map.of("PGSSLMODE", "require", "PGCHANNELBINDING", "require");
            Outcome in = psqlAs(bound, "alice", "alice-pw", required);
            Outcome wrong = psqlAs(bound, "alice", "wrong", required);

            assertThat(in.exitCode()).as(in.stderr()).isZero();
            assertThat(in.stdout()).contains("logged in");
            assertThat(wrong.exitCode()).isEqualTo(2);
            assertThat(wrong.stderr()).contains("password authentication failed for user \"alice\"");
        }
    }

    private static Outcome psqlAs(TestProxy target, String user, String password) throws IOException, InterruptedException {
        return psqlAs(target, user, password, Map.of());
    }

    private static Outcome psqlAs(TestProxy target, String user, String password, Map<String, String> environment)
            throws IOException, InterruptedException {
        List<String> command = List.of("psql", "-h", "127.0.0.1", "-p", String.valueOf(target.port()), "-U", user,
                "-d", DATABASE, "-X", "-w", "-At", "-c", "select 'logged in'");
        Map<String, String> all = new java.util.HashMap<>(environment);
        if (password != null) {
            all.put("PGPASSWORD", password);
        }
        return run(command, all);
    }
}
