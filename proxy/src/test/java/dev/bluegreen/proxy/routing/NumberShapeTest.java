package dev.bluegreen.proxy.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Which texts share a classifier cache entry: the numbers masked, and where the scan gives up. */
class NumberShapeTest {

    private static String shown(String shape) {
        return shape == null ? null : shape.replace(NumberShape.MASK, '#');
    }

    static Stream<Arguments> masked() {
        return Stream.of(
                arguments("select * from t where id = 5123", "select * from t where id = #"),
                arguments("select 1, 22, 333", "select #, #, #"),
                arguments("update t set a = -1.5 where b in (1,2)", "update t set a = -#.# where b in (#,#)"),
                arguments("select a+1 from t1 limit 10", "select a+# from t1 limit #"),
                arguments("select 1e5, 0x1F, 1_000, 7", "select 1e5, 0x1F, 1_000, #"),
                arguments("select $1 + 2", "select $1 + #"),
                arguments("select 'a 1', \"c 2\", 3 -- 4", "select 'a 1', \"c 2\", # -- 4"),
                arguments("select 'it''s 1', 2 /* 3 /* 4 */ 5 */ , 6", "select 'it''s 1', # /* 3 /* 4 */ 5 */ , #"),
                arguments("select é1, 2", "select é1, #"),
                arguments("select a$1, 2", "select a$1, #"),
                arguments("-- 1\nselect 2", "-- 1\nselect #"),
                arguments("select name'x', 1", "select name'x', #"),
                arguments("select --\r1", "select --\r#"),
                arguments("select 1 --'\n, 2 --'", "select # --'\n, # --'"));
    }

    @ParameterizedTest(name = "{0} → {1}")
    @MethodSource("masked")
    void standaloneNumbersAreMasked(String sql, String shape) {
        assertThat(shown(NumberShape.of(sql))).isEqualTo(shape);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "select a from t",
        "select t1.c2 from t1",
        "select 'only 1 in a string'",
        "select E'1', 2",
        "select e'\\'', 2",
        "select $$ 1 $$, 2",
        "select $tag$ 1 $tag$, 2",
        "select 'unterminated 1",
        "select 1 /* unterminated",
        "select \"unterminated, 1",
        "select 0e'\\'x', 1",
        "select $1e'\\'x', 1",
        "select 0$$ 1 $$",
        "select 1, '\0'",
    })
    void textsWithNothingToMaskOrTooHardToScanHaveNoShape(String sql) {
        assertThat(NumberShape.of(sql)).isNull();
    }

    @Test
    void theLexersShapeMasksItsNumbersOnly() {
        String sql = "select E'1 \\' 2', 3, 4e5, t6 -- 7";

        assertThat(shown(NumberShape.of(sql, Lexer.lex(sql, false).tokens()))).isEqualTo("select E'1 \\' 2', #, 4e5, t6 -- 7");
    }

    /** The classifier trusts the quick scan only where it agrees with the lexer; on the table it always should. */
    @Test
    void theScanAndTheLexerAgreeOnEveryStatementOfTheClassifierTable() {
        for (var arguments : ClassifierTest.allCases()) {
            String sql = (String) arguments.get()[0];
            Lexed lexed = Lexer.lex(sql, false);
            String scanned = NumberShape.of(sql);
            if (scanned != null && lexed.readable()) {
                assertThat(shown(scanned)).as(sql).isEqualTo(shown(NumberShape.of(sql, lexed.tokens())));
            }
        }
    }

    @Test
    void numbersOfAnyLengthShareAShapeThatNoRealTextEquals() {
        String shape = NumberShape.of("select 5");

        assertThat(NumberShape.of("select 51234567890")).isEqualTo(shape);
        assertThat(shape).isNotEqualTo("select 5").contains(String.valueOf(NumberShape.MASK));
    }
}
