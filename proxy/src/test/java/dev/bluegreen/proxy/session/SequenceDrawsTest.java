package dev.bluegreen.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.routing.InsertShape;
import dev.bluegreen.proxy.routing.TransactionTime;
import java.util.List;
import org.junit.jupiter.api.Test;

class SequenceDrawsTest {

    private static final InsertShape ORDER = new InsertShape("orders", List.of("v"));
    private static final String START = "2026-12-06 09:15:02.123456+00";

    /** A row of the leader's answer about a column drawing from a sequence. */
    private static String[] row(String column, String sequence, String value) {
        return new String[] {column, sequence, value, null, START, "16384/1"};
    }

    @Test
    void aTableIsAskedAboutUntilItsAnswerSaysItDrawsNothingTheStatementLeavesToItsDefault() {
        SequenceDraws draws = new SequenceDraws();
        assertThat(draws.mayDraw(ORDER)).isTrue();

        SequenceDraws.Generated learned = draws.learned(ORDER, List.<String[]>of(row("id", "public.orders_id_seq", "42")));
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
        draws.learned(ORDER, List.<String[]>of(row("id", "public.orders_id_seq", "1"),
                row("n", "a_seq", null)));
        assertThat(draws.knownDraws(ORDER)).containsExactly("a_seq", "public.orders_id_seq");
        assertThat(draws.knownDraws(new InsertShape("orders", List.of("v", "n")))).containsExactly("public.orders_id_seq");

        assertThat(SequenceDraws.pipelinedQuery(List.of("a_seq", "it's"), false))
                .startsWith("SAVEPOINT bluegreen_draws; SELECT s.seq, ")
                .contains("FROM (VALUES ('a_seq'), ('it''s')) AS s (seq)")
                .endsWith("; RELEASE SAVEPOINT bluegreen_draws");
        assertThat(SequenceDraws.drawn(List.<String[]>of(new String[] {"z", "9"}, new String[] {"a", null},
                new String[] {"b", "3"})).draws()).containsExactly(new SequenceDraws.Draw("b", 3), new SequenceDraws.Draw("z", 9));
    }

    /**
     * One-row inserts into tables of their own under one Sync are learned together: each row of the answer is led by
     * its insert's place; the draws of all are kept in lock order, none where two tables turn out to share a sequence.
     */
    @Test
    void insertsIntoTablesOfTheirOwnAreLearnedTogether() {
        SequenceDraws draws = new SequenceDraws();
        InsertShape tags = new InsertShape("tags", List.of("label"));
        String query = SequenceDraws.leaderQueryEach(List.of(ORDER, tags), true, false);
        assertThat(query).startsWith("SAVEPOINT bluegreen_draws; SELECT 0, q.* FROM (SELECT a.attname")
                .contains(" UNION ALL SELECT 1, q.* FROM (SELECT a.attname").contains("to_regclass('tags')")
                .endsWith("; RELEASE SAVEPOINT bluegreen_draws");

        SequenceDraws.Generated learned = draws.learnedEach(List.of(ORDER, tags), List.of(
                led(1, row("id", "public.tags_id_seq", "7")), led(0, row("id", "public.orders_id_seq", "42")),
                led(1, new String[] {"made", null, null, "now()", START, "16385/3"})));
        assertThat(learned.draws()).containsExactly(new SequenceDraws.Draw("public.orders_id_seq", 42),
                new SequenceDraws.Draw("public.tags_id_seq", 7));
        assertThat(learned.start()).as("tags stamps its rows with the start").isEqualTo(START);
        assertThat(draws.knownDraws(tags)).containsExactly("public.tags_id_seq");
        assertThat(draws.knownTimes(tags)).containsKey("made");

        SequenceDraws shared = new SequenceDraws();
        assertThat(shared.learnedEach(List.of(ORDER, tags), List.of(led(0, row("id", "one_seq", "3")),
                led(1, row("id", "one_seq", "3")))).draws()).as("one sequence, two tables").isEmpty();
        assertThat(shared.learnedEach(List.of(ORDER, tags), List.<String[]>of(led(2, row("id", "a_seq", "1")))))
                .as("a row of no insert").isEqualTo(SequenceDraws.Generated.NOTHING);
    }

    /** {@code row} led by the place of its insert among those asked about together. */
    private static String[] led(int insert, String[] row) {
        String[] led = new String[row.length + 1];
        led[0] = Integer.toString(insert);
        System.arraycopy(row, 0, led, 1, row.length);
        return led;
    }

    /**
     * An insert naming its sequence itself ({@code nextval('orders_seq')} for its id) draws from it, asked of the leader
     * beside the table the first time and right behind the statement afterwards; not where the statement also leaves a
     * column to a sequence's default, which might be the same sequence spelled otherwise.
     */
    @Test
    void aSequenceTheInsertNamesItselfIsDrawnAlike() {
        SequenceDraws draws = new SequenceDraws();
        SqlReading reading = new SqlReading();
        InsertShape named = draws.shapeOf("insert into orders (id, v) values (nextval('orders_seq'), $1)", reading).orElseThrow();
        assertThat(draws.mayDraw(named)).isTrue();
        assertThat(SequenceDraws.leaderQuery(named, true, false))
                .contains("; SELECT s.seq, CASE WHEN ")
                .contains("FROM (VALUES ('orders_seq')) AS s (seq); RELEASE SAVEPOINT bluegreen_draws");

        SequenceDraws.Generated learned = draws.learned(named, List.<String[]>of(row("created", null, null),
                new String[] {"orders_seq", "41"}));
        assertThat(learned.draws()).containsExactly(new SequenceDraws.Draw("orders_seq", 41));
        assertThat(draws.mayDraw(named)).isTrue();
        assertThat(draws.knownDraws(named)).containsExactly("orders_seq");

        SequenceDraws beside = new SequenceDraws();
        InsertShape both = beside.shapeOf("insert into lines (n, v) values (nextval('n_seq'), 1)", reading).orElseThrow();
        assertThat(beside.learned(both, List.<String[]>of(row("id", "lines_id_seq", "7"), new String[] {"n_seq", "3"})).draws())
                .containsExactly(new SequenceDraws.Draw("lines_id_seq", 7));
        assertThat(beside.knownDraws(both)).containsExactly("lines_id_seq");
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
        assertThat(draws.learned(ORDER, List.<String[]>of(row("id", "s", null))).draws()).isEmpty();
        assertThat(draws.learned(ORDER, List.<String[]>of(row("id", "s", "1e3"))).draws()).isEmpty();
        assertThat(draws.learned(ORDER, List.<String[]>of(row("id", "s\\x", "1"))).draws()).isEmpty();
        assertThat(draws.mayDraw(new InsertShape("a\\b", List.of("v")))).isFalse();
    }

    @Test
    void theFollowerLocksEachSequenceInOneOrderSetsItAndUnlocksIt() {
        SequenceDraws draws = new SequenceDraws();
        List<SequenceDraws.Draw> drawn = draws.learned(ORDER, List.<String[]>of(
                row("n", "z_seq", "7"), row("id", "\"O'Brien\".seq", "3"))).draws();
        assertThat(drawn).extracting(SequenceDraws.Draw::sequence).containsExactly("\"O'Brien\".seq", "z_seq");

        String before = SequenceDraws.followerBefore(new SequenceDraws.Generated(drawn, null));
        assertThat(before).startsWith("SELECT pg_catalog.pg_advisory_lock(" + SequenceDraws.LOCK_CLASS
                + ", ('\"O''Brien\".seq'::pg_catalog.regclass::pg_catalog.oid::bigint - 2147483648)::int), pg_catalog.pg_advisory_lock(");
        assertThat(before).contains("pg_catalog.set_config('bluegreen.draw_1', (SELECT (CASE WHEN s.is_called THEN"
                + " s.last_value ELSE s.last_value - q.seqincrement END)::text FROM \"O'Brien\".seq s, pg_catalog.pg_sequence q"
                + " WHERE q.seqrelid = '\"O''Brien\".seq'::pg_catalog.regclass), false), pg_catalog.setval('\"O''Brien\".seq', 3, false)")
                .contains("pg_catalog.setval('z_seq', 7, false)");
        String after = SequenceDraws.followerAfter(drawn);
        assertThat(SequenceDraws.followerBefore(new SequenceDraws.Generated(
                List.of(new SequenceDraws.Draw("public.orders_id_seq", 42).ofRows(4)), null)))
                .as("four rows drew, the last 42: the first is three increments before it")
                .contains("pg_catalog.setval('public.orders_id_seq', (SELECT 42 - 3 * q.seqincrement FROM pg_catalog.pg_sequence q"
                        + " WHERE q.seqrelid = 'public.orders_id_seq'::pg_catalog.regclass), false)");
        assertThat(after).contains("(q.seqincrement > 0 AND 7 < k.kept) OR (q.seqincrement < 0 AND 7 > k.kept)")
                .contains("pg_catalog.setval('z_seq', k.kept + q.seqincrement, false)")
                .contains("pg_catalog.current_setting('bluegreen.draw_2', true)")
                .endsWith("pg_catalog.pg_advisory_unlock(" + SequenceDraws.LOCK_CLASS
                        + ", ('z_seq'::pg_catalog.regclass::pg_catalog.oid::bigint - 2147483648)::int)");
        assertThat(after).doesNotContain("k.kept, true)");

        SequenceDraws.Draw given = new SequenceDraws.Draw("s", 12).givenRows(List.of(9L, 12L, 10L));
        assertThat(SequenceDraws.followerBefore(new SequenceDraws.Generated(List.of(given), null)))
                .as("a statement given its values draws none: the sequence is not set ahead of it").doesNotContain("setval");
        assertThat(SequenceDraws.followerAfter(List.of(given)))
                .as("the session draws the leader's last itself (its currval and lastval), then the sequence goes past")
                .contains("SELECT pg_catalog.nextval('s') FROM (SELECT pg_catalog.setval('s', 12, false)) v; ",
                        "pg_catalog.setval('s', n.next::bigint, false)", "GREATEST(k.kept, s.last_value, 12)",
                        "LEAST(k.kept, s.last_value, 9)")
                .doesNotContain("12, true)");
    }

    @Test
    void onlySequenceNamesAsTheServerPrintsThemAreNamedInTheFollowersQueries() {
        SequenceDraws draws = new SequenceDraws();
        assertThat(draws.learned(ORDER, List.<String[]>of(row("a", "public.\"Odd \"\" name\"", "1"),
                row("b", "s; drop table t", "2"), row("c", "Upper", "3"), row("d", "a.b.c", "4"))).draws())
                .containsExactly(new SequenceDraws.Draw("public.\"Odd \"\" name\"", 1));
    }

    @Test
    void twoColumnsDrawingFromOneSequenceAreNotCarried() {
        SequenceDraws draws = new SequenceDraws();
        InsertShape both = new InsertShape("t", List.of("v"));
        assertThat(draws.learned(both, List.<String[]>of(row("a", "s", "2"), row("b", "s", "2"),
                row("c", "other", "5"))).draws()).containsExactly(new SequenceDraws.Draw("other", 5));
        assertThat(draws.knownDraws(both)).containsExactly("other");
    }

    @Test
    void uuidColumnsDefaultingToARandomOneAreKeptWithWhereTheLeadersRowsSayTheyComeFrom() {
        SequenceDraws draws = new SequenceDraws();
        InsertShape account = InsertShape.of("insert into accounts (name) values ($1) returning id", false).orElseThrow();
        draws.learned(account, List.<String[]>of(
                new String[] {"id", null, null, "gen_random_uuid()", START, "16390/1"},
                new String[] {"token", null, null, "public.uuid_generate_v4()", START, "16390/3"},
                new String[] {"other", null, null, "md5(random()::text)::uuid", START, "16390/4"}));
        assertThat(draws.randomUuids(account)).containsExactly("id", "token");
        assertThat(draws.uuidColumn(account)).as("two left to a random default: neither is given").isNull();
        assertThat(draws.mayLeaveRandomUuid(account)).isTrue();
        assertThat(draws.mayDraw(account)).isTrue();

        InsertShape withToken = InsertShape.of("insert into accounts (name, token) values ($1, $2)", false).orElseThrow();
        assertThat(draws.uuidColumn(withToken)).isEqualTo("id");
        assertThat(draws.place(withToken, "id")).isEqualTo("16390/1");
        assertThat(draws.place(withToken, "other")).as("not a random default").isNull();

        InsertShape both = InsertShape.of("insert into accounts (id, token, name) values ($1, $2, $3)", false).orElseThrow();
        assertThat(draws.mayLeaveRandomUuid(both)).isFalse();
        assertThat(draws.mayDraw(both)).isFalse();
    }

    @Test
    void columnsDefaultingToTheTransactionsStartTakeTheLeadersOnTheFollower() {
        SequenceDraws draws = new SequenceDraws();
        InsertShape order = InsertShape.of("insert into orders (v) values ($1)", false).orElseThrow();
        SequenceDraws.Generated learned = draws.learned(order, List.<String[]>of(
                new String[] {"created_at", null, null, "now()", START, "16384/2"},
                new String[] {"stamped", null, null, "clock_timestamp()", START, "16384/3"},
                row("id", "orders_id_seq", "5")));
        assertThat(learned).isEqualTo(new SequenceDraws.Generated(List.of(new SequenceDraws.Draw("orders_id_seq", 5)), START));
        assertThat(draws.knownTimes(order)).containsOnlyKeys("created_at");
        assertThat(TransactionTime.apply("insert into orders (v) values ($1)", draws.supplied(order)))
                .isEqualTo("insert into orders (v, \"created_at\") values ($1, (SELECT " + TransactionTime.START + " AS \"now\"))");

        InsertShape dated = new InsertShape("orders", List.of("v", "created_at"));
        assertThat(draws.knownTimes(dated)).isEmpty();
        assertThat(draws.learned(dated, List.<String[]>of(new String[] {"created_at", null, null, "now()", START, "16384/2"})).start())
                .as("the statement gave the column its value").isNull();

        assertThat(SequenceDraws.followerBefore(new SequenceDraws.Generated(List.of(), START)))
                .isEqualTo("SELECT pg_catalog.set_config('bluegreen.now', '" + START + "', true)");
        assertThat(SequenceDraws.pipelinedQuery(List.of(), true)).isEqualTo("SAVEPOINT bluegreen_draws; SELECT "
                + TransactionTime.LEADER_START + "; RELEASE SAVEPOINT bluegreen_draws");
        assertThat(SequenceDraws.drawn(List.<String[]>of(new String[] {START})).start()).isEqualTo(START);
        assertThat(SequenceDraws.drawn(List.<String[]>of(new String[] {"2026-12-06'; drop table t; --"})).start()).isNull();
    }

    @Test
    void theLeaderIsAskedUnderASavepointInsideATransaction() {
        InsertShape quoted = new InsertShape("\"It's\"", List.of("a'b"));
        String query = SequenceDraws.leaderQuery(quoted, true, false);
        assertThat(query).startsWith("SAVEPOINT bluegreen_draws; SELECT ").endsWith("; RELEASE SAVEPOINT bluegreen_draws");
        assertThat(query).contains("to_regclass('\"It''s\"')").contains("ARRAY['a''b']::pg_catalog.name[]");
        assertThat(SequenceDraws.leaderQuery(quoted, false, false)).startsWith("SELECT ");
    }
}
