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
        int exit = run("rollout", "--steps", "5,10");

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("rollout");
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
                .contains("set-weight", "rollback", "divergences", "--token-file");
    }
}
