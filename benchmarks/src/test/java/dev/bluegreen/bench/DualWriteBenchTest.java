package dev.bluegreen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DualWriteBenchTest {

    @Test
    void aFailedPgbenchIsBriefedAsItsFirstLineAndTheFirstErrorOfItsOutput() {
        String message = """
                pgbench run was aborted (a client lost its connection or hit an error)
                command: pgbench -h 127.0.0.1 -p 6432 -U postgres -n -b tpcb-like -M simple -c 16 -j 2 -T 15 postgres
                output:
                pgbench (15.18 (Debian 15.18-0+deb12u1), server 16.9)
                pgbench: error: client 3 script 0 aborted in command 5 query 0: ERROR:  deadlock detected
                pgbench: error: client 7 script 0 aborted in command 5 query 0: ERROR:  deadlock detected
                """;

        assertThat(DualWriteBench.brief(message)).isEqualTo("pgbench run was aborted (a client lost its connection "
                + "or hit an error): pgbench: error: client 3 script 0 aborted in command 5 query 0: ERROR:  "
                + "deadlock detected");
    }

    @Test
    void aOneLineFailureIsKeptAsItIs() {
        assertThat(DualWriteBench.brief("the proxy refused 'weight 50': green is out of sync"))
                .isEqualTo("the proxy refused 'weight 50': green is out of sync");
    }
}
