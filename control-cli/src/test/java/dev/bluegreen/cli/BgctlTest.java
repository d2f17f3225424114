package dev.bluegreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class BgctlTest {

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cmd = new CommandLine(new Bgctl());
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
    void helpDescribesBgctlAndItsExitCodes() {
        int exit = run("--help");

        assertThat(exit).isZero();
        assertThat(out.toString())
                .contains("Usage: bgctl")
                .contains("admin HTTP API")
                .contains("later release")
                .contains("2  usage error");
    }

    @Test
    void anUnknownOptionIsAUsageError() {
        int exit = run("--frobnicate");

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("Unknown option: '--frobnicate'");
    }

    @Test
    void noCommandShowsUsageAsAUsageError() {
        int exit = run();

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("Usage: bgctl");
    }
}
