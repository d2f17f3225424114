package dev.bluegreen.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PgbenchResultTest {

    /** pgbench 15 against a 16 server, as the harness runs it. */
    private static final String CLEAN_RUN = """
            pgbench (15.18 (Debian 15.18-0+deb12u1), server 16.9)
            transaction type: <builtin: select only>
            scaling factor: 10
            query mode: prepared
            number of clients: 16
            number of threads: 2
            maximum number of tries: 1
            duration: 15 s
            number of transactions actually processed: 301234
            number of failed transactions: 0 (0.000%)
            latency average = 0.797 ms
            initial connection time = 12.345 ms
            tps = 20075.123456 (without initial connection time)
            """;

    @Test
    void aCleanRunYieldsThroughputWithoutConnectionTimeAndAverageLatency() {
        PgbenchResult result = PgbenchResult.parse(CLEAN_RUN);

        assertThat(result.tps()).isEqualTo(20075.123456);
        assertThat(result.latencyMs()).isEqualTo(0.797);
    }

    @Test
    void outputOfPgbench14WithoutAFailedTransactionsLineIsAccepted() {
        String output = CLEAN_RUN.replace("number of failed transactions: 0 (0.000%)\n", "");

        assertThat(PgbenchResult.parse(output).tps()).isEqualTo(20075.123456);
    }

    @Test
    void failedTransactionsAreAnErrorNotANumber() {
        String output = CLEAN_RUN.replace("number of failed transactions: 0 (0.000%)",
                "number of failed transactions: 3 (0.001%)");

        assertThatThrownBy(() -> PgbenchResult.parse(output))
                .isInstanceOf(PgbenchResult.PgbenchFailure.class)
                .hasMessageContaining("3 failed transactions");
    }

    @Test
    void anAbortedRunIsAnError() {
        String output = "pgbench: error: client 3 script 0 aborted in command 1 query 0: server closed the connection\n"
                + CLEAN_RUN + "pgbench: fatal: Run was aborted; the above results are incomplete.\n";

        assertThatThrownBy(() -> PgbenchResult.parse(output))
                .isInstanceOf(PgbenchResult.PgbenchFailure.class)
                .hasMessageContaining("aborted");
    }

    @Test
    void aRunThatProcessedNothingIsAnError() {
        String output = CLEAN_RUN.replace("actually processed: 301234", "actually processed: 0");

        assertThatThrownBy(() -> PgbenchResult.parse(output))
                .isInstanceOf(PgbenchResult.PgbenchFailure.class)
                .hasMessageContaining("no transactions");
    }

    @Test
    void theOldExcludingConnectionsEstablishingLineIsNotTakenForThroughput() {
        String output = CLEAN_RUN.replace("(without initial connection time)", "(excluding connections establishing)");

        assertThatThrownBy(() -> PgbenchResult.parse(output))
                .isInstanceOf(PgbenchResult.PgbenchFailure.class)
                .hasMessageContaining("without initial connection time");
    }

    @Test
    void missingLatencyIsAnError() {
        String output = CLEAN_RUN.replace("latency average = 0.797 ms\n", "");

        assertThatThrownBy(() -> PgbenchResult.parse(output))
                .isInstanceOf(PgbenchResult.PgbenchFailure.class)
                .hasMessageContaining("latency average");
    }
}
