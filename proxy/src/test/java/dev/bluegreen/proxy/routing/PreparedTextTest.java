package dev.bluegreen.proxy.routing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PreparedTextTest {

    @Test
    void thePrepareIsTakenOutOfTheQueryStringItCameIn() {
        assertThat(PreparedText.of("prepare p as insert into t values ($1); execute p(1)", "p"))
                .contains("prepare p as insert into t values ( $1 )");
        assertThat(PreparedText.of("PREPARE One AS SELECT 1; PREPARE two (int) AS SELECT $1 -- two\n", "two"))
                .contains("PREPARE two ( int ) AS SELECT $1");
        assertThat(PreparedText.of("prepare \"Mixed\" as select ';'", "Mixed")).contains("prepare \"Mixed\" as select ';'");
    }

    @Test
    void aNameTheStringDoesNotPrepareIsNotFound() {
        assertThat(PreparedText.of("prepare p as select 1", "q")).isEmpty();
        // prepared twice in one string (deallocated between): which one stands cannot be told from the text
        assertThat(PreparedText.of("prepare p as insert into a values (1); deallocate p; prepare p as insert into b"
                + " values (1)", "p")).isEmpty();
        assertThat(PreparedText.of("prepare \"P\" as select 1", "p")).isEmpty();
        assertThat(PreparedText.of("prepare p as select 'open", "p")).isEmpty();
    }
}
