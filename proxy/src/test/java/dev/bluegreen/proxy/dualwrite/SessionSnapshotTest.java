package dev.bluegreen.proxy.dualwrite;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SessionSnapshotTest {

    @Test
    void aReplayedSettingIsDescribedByItsNameAloneNeverItsValue() {
        SessionSnapshot snapshot = new SessionSnapshot(Map.of("request.jwt", "eyJhbGciOiJIUzI1NiJ9.secret"), List.of(),
                List.of(), List.of(), null, null, false);

        String replayed = snapshot.replaySql().getFirst();

        assertThat(SessionSnapshot.describe(replayed)).isEqualTo("select pg_catalog.set_config($bg$request.jwt$bg$, …)")
                .doesNotContain("eyJ");
    }

    @Test
    void aPrepareIsDescribedByItsBeginning() {
        assertThat(SessionSnapshot.describe("PREPARE q AS select 1")).isEqualTo("PREPARE q AS select 1");
    }
}
