package dev.bluegreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class BgctlTest {

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cmd = Bgctl.commandLine(new Bgctl(Map.of(), "alice"));
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        return cmd.execute(args);
    }

    @Test
    void versionPrintsTheProjectVersion() {
        int exit = run("--version");

        assertThat(exit).isZero();
        assertThat(out.toString().strip()).matches("bgctl \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?");
    }

    @Test
    void helpListsEveryCommandTheConnectionOptionsAndTheExitCodes() {
        int exit = run("--help");

        assertThat(exit).isZero();
        assertThat(out.toString())
                .contains("Usage: bgctl")
                .contains("admin HTTP API")
                .contains("--url=URL", "--token-file=FILE", "--state-dir=DIR")
                .contains("status", "start", "set-weight", "step", "rollback", "cutover", "finalize", "abort",
                        "freeze", "unfreeze", "history", "divergences", "generate-completion")
                .containsPattern("rollout\\s+Start a health-gated rollout plan")
                .containsPattern("pause\\s+Stop the rollout plan from advancing")
                .containsPattern("resume\\s+Continue a paused rollout plan")
                .contains("1  refused by the proxy", "2  usage error", "3  cannot reach the proxy");
    }

    @Test
    void aSubcommandsHelpShowsTheInheritedConnectionOptions() {
        int exit = run("rollback", "--help");

        assertThat(exit).isZero();
        assertThat(out.toString())
                .contains("Usage: bgctl rollback")
                .contains("--reason=TEXT", "--force", "--url=URL", "--token-file=FILE")
                .contains("3  cannot reach the proxy");
    }

    @Test
    void anUnknownOptionIsAUsageError() {
        int exit = run("--frobnicate");

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("Unknown option: '--frobnicate'");
    }

    @Test
    void anUnknownCommandIsAUsageError() {
        int exit = run("promote", "--steps", "5,10");

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("Unmatched arguments", "promote");
    }

    @Test
    void noCommandShowsUsageAsAUsageError() {
        int exit = run();

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("Usage: bgctl");
    }

    @Test
    void generateCompletionPrintsABashAndZshScriptForEveryCommand() {
        int exit = run("generate-completion");

        assertThat(exit).isZero();
        assertThat(out.toString())
                .contains("bgctl Bash Completion")
                .contains("complete -F _complete_bgctl")
                .contains("set-weight", "rollback", "divergences", "--token-file")
                .contains("rollout", "pause", "resume", "--steps", "--bake", "--follow");
    }

    @Test
    void rolloutHelpSaysThePlanLivesInTheProxyAndCtrlCStopsOnlyTheFollowing() {
        int exit = run("rollout", "--help");

        assertThat(exit).isZero();
        assertThat(out.toString())
                .contains("Usage: bgctl rollout")
                .contains("--steps=WEIGHTS", "--bake=DURATION", "--follow", "--reason=TEXT")
                .contains("The plan lives in the proxy")
                .contains("Ctrl-C stops following, not the plan");
    }

    @Test
    void executeRunsACommandLikeMainAndReturnsItsExitCode() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();

        int version = Bgctl.execute(Map.of(), "bob", new PrintWriter(out), new PrintWriter(err), "--version");
        int usage = Bgctl.execute(Map.of(), "bob", new PrintWriter(out), new PrintWriter(err), "set-weight", "101");
        int unreachable = Bgctl.execute(Map.of("BLUEGREEN_ADMIN_TOKEN", "t"), "bob", new PrintWriter(out),
                new PrintWriter(err), "history", "--url", "http://127.0.0.1:1");

        assertThat(version).isZero();
        assertThat(usage).isEqualTo(2);
        assertThat(unreachable).isEqualTo(3);
        assertThat(out.toString()).startsWith("bgctl ");
        assertThat(err.toString())
                .contains("N must be between 0 and 100, was 101")
                .contains("bgctl: cannot reach the proxy's admin API at http://127.0.0.1:1");
    }
}
