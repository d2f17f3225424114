package dev.bluegreen.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PgbenchTest {

    private static final Endpoint BLUE = new Endpoint("127.0.0.1", 5433, "postgres", "postgres");

    @Test
    void aSelectOnlyRunIsDashSWithoutTheInitialVacuum() {
        Pgbench.Run run = new Pgbench.Run(Workload.SELECT_ONLY, "prepared", 16, 2, 15);

        assertThat(Pgbench.command(BLUE, run)).containsExactly("pgbench", "-h", "127.0.0.1", "-p", "5433", "-U",
                "postgres", "-n", "-S", "-M", "prepared", "-c", "16", "-j", "2", "-T", "15", "postgres");
    }

    @Test
    void aTpcbLikeRunNamesTheBuiltinScriptAndSkipsTheVacuumToo() {
        Pgbench.Run run = new Pgbench.Run(Workload.TPCB_LIKE, "simple", 16, 2, 15);

        assertThat(Pgbench.command(BLUE, run)).containsSubsequence("-n", "-b", "tpcb-like", "-M", "simple")
                .doesNotContain("-S");
    }

    /** pgbench is on PATH wherever the tests run: .ci/run installs it. */
    @Test
    void twoRunsTogetherEndBeforeTheFailureOfEitherIsThrownAndEachKeepsItsLog(@TempDir Path logs)
            throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        Endpoint nobody = new Endpoint("127.0.0.1", closedPort, "postgres", "postgres");
        Pgbench.Run run = new Pgbench.Run(Workload.SELECT_ONLY, "simple", 1, 1, 1);

        try (Pgbench pgbench = new Pgbench(logs)) {
            assertThatThrownBy(() -> pgbench.runTogether(nobody, nobody, run, "first.log", "second.log"))
                    .isInstanceOf(PgbenchResult.PgbenchFailure.class)
                    .hasMessageContaining("pgbench exited with");
        }
        assertThat(Files.readString(logs.resolve("first.log"))).contains("connection");
        assertThat(Files.readString(logs.resolve("second.log"))).contains("connection");
    }
}
