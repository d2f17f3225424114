package dev.bluegreen.proxy.dualwrite;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.routing.LeaderOnlyObjects;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SessionSnapshotTest {

    @Test
    void aReplayedSettingIsDescribedByItsNameAloneNeverItsValue() {
        SessionSnapshot snapshot = new SessionSnapshot(Map.of("request.jwt", "eyJhbGciOiJIUzI1NiJ9.secret"), List.of(),
                List.of(), List.of(), null, null, false, LeaderOnlyObjects.NONE, List.of());

        String replayed = snapshot.replaySql().getFirst();

        assertThat(SessionSnapshot.describe(replayed)).isEqualTo("select pg_catalog.set_config($bg$request.jwt$bg$, …)")
                .doesNotContain("eyJ");
    }

    /** The snapshot's text is in the session's encoding: the twin is given that encoding before any other setting. */
    @Test
    void theClientEncodingIsReplayedFirst() {
        List<String[]> rows = List.of(
                new String[] {"setting", "application_name", "caf\u00e9", null},
                new String[] {"setting", "client_encoding", "LATIN1", null},
                new String[] {"setting", "search_path", "\"caf\u00e9\", public", null});

        List<String> replayed = SessionSnapshot.fromRows(rows).stateSql();

        assertThat(replayed).containsExactly(
                "select pg_catalog.set_config($bg$client_encoding$bg$, $bg$LATIN1$bg$, false)",
                "select pg_catalog.set_config($bg$application_name$bg$, $bg$caf\u00e9$bg$, false)",
                "select pg_catalog.set_config($bg$search_path$bg$, $bg$\"caf\u00e9\", public$bg$, false)");
    }

    /**
     * A session with standard_conforming_strings off wrote a backslash-escaped quote into its PREPARE: the
     * statement is read whole, as that session's server read it, not cut at the semicolon inside the string.
     */
    @Test
    void aPrepareIsReadAsTheSessionReadsStrings() {
        String sent = "PREPARE p AS SELECT 'it\\'s; not the end'; EXECUTE p";
        List<String[]> rows = List.of(
                new String[] {"setting", "standard_conforming_strings", "off", null},
                new String[] {"prepare", "p", sent, null});

        SessionSnapshot snapshot = SessionSnapshot.fromRows(rows);

        assertThat(snapshot.pinned()).isFalse();
        assertThat(snapshot.replaySql()).contains("PREPARE p AS SELECT 'it\\'s; not the end'");
    }

    @Test
    void aPrepareIsDescribedByItsBeginning() {
        assertThat(SessionSnapshot.describe("PREPARE q AS select 1")).isEqualTo("PREPARE q AS select 1");
    }
}
