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
