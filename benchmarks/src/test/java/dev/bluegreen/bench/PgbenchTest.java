package dev.bluegreen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

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
}
