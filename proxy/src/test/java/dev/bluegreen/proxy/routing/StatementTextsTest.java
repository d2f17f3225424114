package dev.bluegreen.proxy.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class StatementTextsTest {

    @Test
    void eachStatementIsCutFromItsFirstTokenToItsLastWithWhereItBegins() {
        String sql = "insert into a (v) values ('x;y') returning id;  -- a note\n insert into b values (1) ; ";

        assertThat(StatementTexts.of(sql, false)).containsExactly(
                new StatementTexts.Slice(0, "insert into a (v) values ('x;y') returning id"),
                new StatementTexts.Slice(sql.indexOf("insert into b"), "insert into b values (1)"));
    }

    @Test
    void aRoutineBodyOfSeveralStatementsIsOneStatement() {
        String sql = "create function f() returns int begin atomic select 1; select 2; end; select f()";

        assertThat(StatementTexts.of(sql, false)).extracting(StatementTexts.Slice::text).containsExactly(
                "create function f() returns int begin atomic select 1; select 2; end", "select f()");
    }

    @Test
    void aRuleWhoseActionsHoldSemicolonsIsNotCutIntoPieces() {
        assertThat(StatementTexts.of("create rule r as on insert to t do also (notify x; insert into log default values);"
                + " insert into t values (1)", false)).isEmpty();
    }

    @Test
    void aTextThatCannotBeReadToItsEndHasNoStatements() {
        assertThat(StatementTexts.of("insert into a values (1); insert into b values ('open", false)).isEmpty();
        assertThat(StatementTexts.of(" ;; ", false)).isEmpty();
    }

    @Test
    void aBackslashEscapesAQuoteOnlyWhereTheSessionReadsStringsSo() {
        String sql = "insert into a values ('it\\'s; one'); select 1";

        assertThat(StatementTexts.of(sql, true)).extracting(StatementTexts.Slice::text)
                .isEqualTo(List.of("insert into a values ('it\\'s; one')", "select 1"));
        // read with standard strings, the backslash is a character and the quote after it closes the string
        assertThat(StatementTexts.of(sql, false)).isEmpty();
    }
}
