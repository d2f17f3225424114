package dev.bluegreen.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.routing.InsertShape;
import java.util.List;
import org.junit.jupiter.api.Test;

class SequenceDrawsTest {

    private static final InsertShape ORDER = new InsertShape("orders", List.of("v"));

    @Test
    void aTableIsAskedAboutUntilItsAnswerSaysItDrawsNothingTheStatementLeavesToItsDefault() {
        SequenceDraws draws = new SequenceDraws();
        assertThat(draws.mayDraw(ORDER)).isTrue();

        SequenceDraws.Learned learned = draws.learned(ORDER, List.<String[]>of(new String[] {"id", "public.orders_id_seq", "42"}));
        assertThat(learned.draws()).containsExactly(new SequenceDraws.Draw("public.orders_id_seq", 42));
        assertThat(draws.mayDraw(ORDER)).isTrue();
        assertThat(draws.mayDraw(new InsertShape("orders", List.of("id", "v")))).as("the id given").isFalse();

        draws.learned(new InsertShape("history", List.of("v")), List.of());
        assertThat(draws.mayDraw(new InsertShape("history", List.of("v")))).isFalse();
        draws.forget();
        assertThat(draws.mayDraw(new InsertShape("history", List.of("v")))).isTrue();
    }

    @Test
    void aTableTheSessionKnowsIsAskedAboutRightBehindTheStatement() {
        SequenceDraws draws = new SequenceDraws();
        assertThat(draws.knownDraws(ORDER)).isNull();
        draws.learned(ORDER, List.<String[]>of(new String[] {"id", "public.orders_id_seq", "1"},
                new String[] {"n", "a_seq", null}));
        assertThat(draws.knownDraws(ORDER)).containsExactly("a_seq", "public.orders_id_seq");
        assertThat(draws.knownDraws(new InsertShape("orders", List.of("v", "n")))).containsExactly("public.orders_id_seq");

        assertThat(SequenceDraws.pipelinedQuery(List.of("a_seq", "it's")))
                .startsWith("SAVEPOINT bluegreen_draws; SELECT s.seq, ")
                .contains("FROM (VALUES ('a_seq'), ('it''s')) AS s (seq)")
                .endsWith("; RELEASE SAVEPOINT bluegreen_draws");
        assertThat(SequenceDraws.drawn(List.<String[]>of(new String[] {"z", "9"}, new String[] {"a", null},
                new String[] {"b", "3"}))).containsExactly(new SequenceDraws.Draw("b", 3), new SequenceDraws.Draw("z", 9));
    }

    @Test
    void anInsertIntoATableKnownToDrawNothingIsNotReadAgain() {
        SequenceDraws draws = new SequenceDraws();
        SqlReading reading = new SqlReading();
        String insert = "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 7, 10, now())";
        InsertShape history = draws.shapeOf(insert, reading).orElseThrow();
        assertThat(history.table()).isEqualTo("pgbench_history");
        assertThat(draws.mayDraw(history)).isTrue();
        draws.learned(history, List.of());
        assertThat(draws.shapeOf(insert.replace("7", "8"), reading)).isEmpty();
        assertThat(draws.shapeOf("insert into public . pgbench_history (tid) values (1)", reading)).isPresent();
        assertThat(draws.shapeOf("update pgbench_history set tid = 1", reading)).isEmpty();
    }

    @Test
    void ddlAnywhereMakesEverySessionAskAgain() {
        SequenceDraws draws = new SequenceDraws();
        InsertShape history = new InsertShape("history", List.of("v"));
        draws.mayDraw(history);
        draws.learned(history, List.of());
        assertThat(draws.mayDraw(history)).isFalse();

        SequenceDraws.catalogChanged();
        assertThat(draws.mayDraw(history)).isTrue();
    }

    @Test
    void valuesThatAreNotNumbersOrNamesThatCannotBeQuotedSafelyAreNotDrawnAlike() {
        SequenceDraws draws = new SequenceDraws();
        assertThat(draws.learned(ORDER, List.<String[]>of(new String[] {"id", "s", null})).draws()).isEmpty();
        assertThat(draws.learned(ORDER, List.<String[]>of(new String[] {"id", "s", "1e3"})).draws()).isEmpty();
        assertThat(draws.learned(ORDER, List.<String[]>of(new String[] {"id", "s\\x", "1"})).draws()).isEmpty();
        assertThat(draws.mayDraw(new InsertShape("a\\b", List.of("v")))).isFalse();
    }

    @Test
    void theFollowerLocksEachSequenceInOneOrderSetsItAndUnlocksIt() {
        SequenceDraws draws = new SequenceDraws();
        List<SequenceDraws.Draw> drawn = draws.learned(ORDER, List.<String[]>of(
                new String[] {"n", "z_seq", "7"}, new String[] {"id", "\"O'Brien\".seq", "3"})).draws();
        assertThat(drawn).extracting(SequenceDraws.Draw::sequence).containsExactly("\"O'Brien\".seq", "z_seq");

        String before = SequenceDraws.followerBefore(drawn);
        assertThat(before).startsWith("SELECT pg_catalog.pg_advisory_lock(" + SequenceDraws.LOCK_CLASS
                + ", ('\"O''Brien\".seq'::pg_catalog.regclass::pg_catalog.oid::bigint - 2147483648)::int), pg_catalog.pg_advisory_lock(");
        assertThat(before).contains("pg_catalog.set_config('bluegreen.draw_1', (SELECT (CASE WHEN s.is_called THEN"
                + " s.last_value ELSE s.last_value - q.seqincrement END)::text FROM \"O'Brien\".seq s, pg_catalog.pg_sequence q"
                + " WHERE q.seqrelid = '\"O''Brien\".seq'::pg_catalog.regclass), false), pg_catalog.setval('\"O''Brien\".seq', 3, false)")
                .contains("pg_catalog.setval('z_seq', 7, false)");
        String after = SequenceDraws.followerAfter(drawn);
        assertThat(after).contains("(q.seqincrement > 0 AND 7 < k.kept) OR (q.seqincrement < 0 AND 7 > k.kept)")
                .contains("pg_catalog.setval('z_seq', k.kept + q.seqincrement, false)")
                .contains("pg_catalog.current_setting('bluegreen.draw_2', true)")
                .endsWith("pg_catalog.pg_advisory_unlock(" + SequenceDraws.LOCK_CLASS
                        + ", ('z_seq'::pg_catalog.regclass::pg_catalog.oid::bigint - 2147483648)::int)");
        assertThat(after).doesNotContain("k.kept, true)");
    }

    @Test
    void onlySequenceNamesAsTheServerPrintsThemAreNamedInTheFollowersQueries() {
        SequenceDraws draws = new SequenceDraws();
        assertThat(draws.learned(ORDER, List.<String[]>of(new String[] {"a", "public.\"Odd \"\" name\"", "1"},
                new String[] {"b", "s; drop table t", "2"}, new String[] {"c", "Upper", "3"}, new String[] {"d", "a.b.c", "4"})).draws())
                .containsExactly(new SequenceDraws.Draw("public.\"Odd \"\" name\"", 1));
    }

    @Test
    void twoColumnsDrawingFromOneSequenceAreNotCarried() {
        SequenceDraws draws = new SequenceDraws();
        InsertShape both = new InsertShape("t", List.of("v"));
        assertThat(draws.learned(both, List.<String[]>of(new String[] {"a", "s", "2"}, new String[] {"b", "s", "2"},
                new String[] {"c", "other", "5"})).draws()).containsExactly(new SequenceDraws.Draw("other", 5));
        assertThat(draws.knownDraws(both)).containsExactly("other");
    }

    @Test
    void theLeaderIsAskedUnderASavepointInsideATransaction() {
        InsertShape quoted = new InsertShape("\"It's\"", List.of("a'b"));
        String query = SequenceDraws.leaderQuery(quoted, true);
        assertThat(query).startsWith("SAVEPOINT bluegreen_draws; SELECT ").endsWith("; RELEASE SAVEPOINT bluegreen_draws");
        assertThat(query).contains("to_regclass('\"It''s\"')").contains("ARRAY['a''b']::pg_catalog.name[]");
        assertThat(SequenceDraws.leaderQuery(quoted, false)).startsWith("SELECT ");
    }
}
