package dev.bluegreen.proxy.dualwrite;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** How a follower's answer to one statement is compared with the leader's. */
class StatementOutcomeTest {

    private static StatementOutcome success(String tag, long rows, long digest) {
        return new StatementOutcome(null, tag, rows, digest, digest);
    }

    @Test
    void theRowsAWriteReturnsAreComparedWhenTheyAreAllOfThem() {
        assertThat(success("UPDATE 3", 3, 2).differenceFrom(success("UPDATE 3", 3, 1))).contains("row contents differ");
        assertThat(success("INSERT 0 2", 2, 2).differenceFrom(success("INSERT 0 2", 2, 1))).contains("row contents differ");
        assertThat(success("UPDATE 3", 3, 1).differenceFrom(success("UPDATE 3", 3, 1))).isNull();
    }

    @Test
    void aPieceOfAPortalReadWithARowLimitIsComparedOnItsCountAlone() {
        assertThat(success(StatementOutcome.SUSPENDED, 2, 2).differenceFrom(success(StatementOutcome.SUSPENDED, 2, 1)))
                .isNull();
        assertThat(success(StatementOutcome.SUSPENDED, 2, 2).differenceFrom(success("UPDATE 2", 2, 2)))
                .as("one cluster had no more rows").contains("command tag");
        assertThat(success(StatementOutcome.SUSPENDED, 1, 2).differenceFrom(success(StatementOutcome.SUSPENDED, 2, 2)))
                .contains("rows returned");
    }

    @Test
    void rowsAreComparedOnlyWhenAsked() {
        assertThat(success("UPDATE 3", 3, 2).differenceFrom(success("UPDATE 3", 3, 1), false)).isNull();
    }
}
