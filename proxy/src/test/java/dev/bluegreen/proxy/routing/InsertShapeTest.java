package dev.bluegreen.proxy.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class InsertShapeTest {

    private static Optional<InsertShape> shape(String sql) {
        return InsertShape.of(sql, false);
    }

    /** The table and columns {@code sql} names, as a shape without places. */
    private static Optional<InsertShape> named(String sql) {
        return shape(sql).map(shape -> new InsertShape(shape.table(), shape.columns()));
    }

    @Test
    void anOrmsInsertNamesItsTableAndColumns() {
        assertThat(named("INSERT INTO \"orders\" (\"v\", \"created_at\") VALUES ($1, $2) RETURNING \"id\""))
                .contains(new InsertShape("\"orders\"", List.of("v", "created_at")));
        assertThat(named("insert into public.Orders as o (V, note) values (1, 'a;b'), (2, $$x$$) returning *;"))
                .contains(new InsertShape("public.Orders", List.of("v", "note")));
        assertThat(named("/* app */ insert into \"My Table\" (\"Id\") select 1 -- tail"))
                .contains(new InsertShape("\"My Table\"", List.of("Id")));
        assertThat(named("insert into t (a) with x as (select 1) select * from x")).contains(new InsertShape("t", List.of("a")));
        assertThat(named("INSERT INTO db.s.t (a) TABLE other")).contains(new InsertShape("db.s.t", List.of("a")));
    }

    @Test
    void defaultValuesListsNoColumn() {
        InsertShape all = shape("insert into t default values returning id").orElseThrow();
        assertThat(all.columns()).isEmpty();
        assertThat(all.leavesToDefault("id")).isTrue();
        assertThat(shape("insert into t (id, v) values (1, 2)").orElseThrow().leavesToDefault("id")).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "insert into t values (1, 2)", // no column list: which columns take their default depends on the table
            "insert into t (select 1)",
            "insert into t (a[1]) values (1)",
            "insert into t (c.f) values (1)",
            "insert into t (a) overriding system value values (1)",
            "insert into t (a) values (1); insert into t (a) values (2)",
            "with x as (select 1) insert into t (a) select * from x",
            "update t set a = 1",
            "insert into t (a) values ('open",
            "insert into t (U&\"a\") values (1)",
            "insert into",
    })
    void anythingElseHasNoShape(String sql) {
        assertThat(shape(sql)).as(sql).isEmpty();
    }

    @Test
    void theRowsAnInsertReturnsShowItsColumnOnlyByNameOrStar() {
        assertThat(InsertShape.returnsColumn("insert into t (v) values (1), (2) returning id", false, "id")).isTrue();
        assertThat(InsertShape.returnsColumn("insert into t (v) values (1) RETURNING v, T.\"id\";", false, "id")).isTrue();
        assertThat(InsertShape.returnsColumn("insert into t (v) values (1) returning *", false, "id")).isTrue();
        assertThat(InsertShape.returnsColumn("insert into t (v) values (1) returning t.*", false, "id")).isTrue();

        assertThat(InsertShape.returnsColumn("insert into t (v) values (1) returning v", false, "id")).isFalse();
        assertThat(InsertShape.returnsColumn("insert into t (v) values (1) returning id as \"orderId\"", false, "id")).isFalse();
        assertThat(InsertShape.returnsColumn("insert into t (v) values (2 * 3) returning v", false, "id")).isFalse();
        assertThat(InsertShape.returnsColumn("insert into t (v) values (1) returning id + 0", false, "id")).isFalse();
        assertThat(InsertShape.returnsColumn("insert into t (v) values ('returning id')", false, "id")).isFalse();
        assertThat(InsertShape.returnsColumn("insert into t (v) values (1) returning id_x", false, "id")).isFalse();
    }

    /** An upsert: its rows and their places are read, the clause noted. */
    @Test
    void anUpsertIsReadWithItsRows() {
        InsertShape update = shape("insert into t (a, b) values (1, 'x'), (2, 'y') on conflict (a) where a > 0"
                + " do update set b = excluded.b, c = (select 1 where true) returning id").orElseThrow();
        assertThat(update.upsert()).isTrue();
        assertThat(update.places().rows()).hasSize(2);
        assertThat(update.leavesToDefault("id")).isTrue();

        InsertShape nothing = shape("insert into t (a) values (1) ON CONFLICT DO NOTHING returning a").orElseThrow();
        assertThat(nothing.upsert()).isTrue();
        assertThat(nothing.places().rows()).hasSize(1);
        assertThat(shape("insert into t default values on conflict do nothing").orElseThrow().upsert()).isTrue();

        InsertShape query = shape("insert into t (a) select 1 on conflict (a) do nothing").orElseThrow();
        assertThat(query.upsert()).isTrue();
        assertThat(query.places()).as("a query's list runs on into the clause").isNull();
        assertThat(shape("insert into t (a) values (1) ON CONFLICT ON CONSTRAINT t_a DO UPDATE SET b = 2 WHERE t.b < 2"
                + " RETURNING a").orElseThrow().upsert()).isTrue();
        assertThat(shape("insert into t (a) values (1) returning id").orElseThrow().upsert()).isFalse();
    }

    @Test
    void anInsertOfOneRowCanBeGivenColumnsItLeavesToTheirDefaults() {
        String sql = "INSERT INTO \"orders\" (\"v\", note) VALUES ($1, f((1), '(')) RETURNING id";
        List<TransactionTime.Edit> edits = shape(sql).orElseThrow().supplying(List.of("created_at", "Day"), List.of("x", "y"));
        assertThat(TransactionTime.apply(sql, edits)).isEqualTo(
                "INSERT INTO \"orders\" (\"v\", note, \"created_at\", \"Day\") VALUES ($1, f((1), '('), x, y) RETURNING id");

        String all = "insert into t default values returning *";
        assertThat(TransactionTime.apply(all, shape(all).orElseThrow().supplying(List.of("at"), List.of("x"))))
                .isEqualTo("insert into t (\"at\") VALUES (x) returning *");

        assertThat(shape("insert into t (a) values (1) union all values (2)").orElseThrow()
                .supplying(List.of("at"), List.of("x"))).isNull();
        assertThat(shape("insert into t (a) values (1), (2) order by 1").orElseThrow()
                .supplying(List.of("at"), List.of("x"))).isNull();
        assertThat(shape("insert into t (a, b) values (1, 2), (3)").orElseThrow() // refused by the server
                .supplying(List.of("at"), List.of("x"))).isNull();
    }

    @Test
    void aQuerysRowsAreGivenTheColumnsAtTheEndOfItsSelectList() {
        assertThat(supplied("insert into t (a) select x from s where y > 1 returning *"))
                .isEqualTo("insert into t (a, \"at\") select x, X from s where y > 1 returning *");
        assertThat(supplied("INSERT INTO t (a) WITH w AS (SELECT 1 AS x FROM u) SELECT DISTINCT ON (x) x FROM w ORDER BY x"))
                .isEqualTo("INSERT INTO t (a, \"at\") WITH w AS (SELECT 1 AS x FROM u) SELECT DISTINCT ON (x) x, X FROM w ORDER BY x");
        assertThat(supplied("insert into t (a) select 1;")).isEqualTo("insert into t (a, \"at\") select 1, X;");
        assertThat(supplied("insert into t (a) select count(*) filter (where b) from s group by c"))
                .isEqualTo("insert into t (a, \"at\") select count(*) filter (where b), X from s group by c");
        assertThat(supplied("insert into t (d, p) select d, percentile_cont(0.5) within group (order by ms) from r group by d"))
                .isEqualTo("insert into t (d, p, \"at\") select d, percentile_cont(0.5) within group (order by ms), X from r group by d");
        assertThat(supplied("insert into t (a, b) select s.order, x as limit from s"))
                .isEqualTo("insert into t (a, b, \"at\") select s.order, x as limit, X from s");
        for (String none : List.of("insert into t (a) select a from s union all select b from r", "insert into t (a) select from s",
                "insert into t (a) select distinct from s", "insert into t (a) table s", "insert into t (a) (select 1)")) {
            assertThat(shape(none).orElseThrow().supplying(List.of("at"), List.of("X"))).as(none).isNull();
        }
    }

    @Test
    void rowsAreGivenTheLeadersValuesRowByRow() {
        String sql = "insert into t (v) values ('a'), ('b')returning id";
        assertThat(TransactionTime.apply(sql, shape(sql).orElseThrow().givingRows("id", List.of("7", "9"))))
                .isEqualTo("insert into t (v, \"id\") OVERRIDING SYSTEM VALUE  values ('a', 7), ('b', 9)returning id");
        String listed = "insert into t (id, v) values (DEFAULT, 'a'), (default, 'b') returning *";
        assertThat(TransactionTime.apply(listed, shape(listed).orElseThrow().givingRows("id", List.of("7", "9"))))
                .isEqualTo("insert into t (id, v) OVERRIDING SYSTEM VALUE  values (7, 'a'), (9, 'b') returning *");
        assertThat(shape(listed).orElseThrow().givingRows("id", List.of("7"))).as("another number of rows").isNull();
        assertThat(shape("insert into t (id, v) values (DEFAULT, 'a'), (1, 'b')").orElseThrow().givingRows("id", List.of("7", "9")))
                .as("a row that gives it a value").isNull();
        assertThat(shape("insert into t (v) select 1").orElseThrow().givingRows("id", List.of("7"))).isNull();
    }

    private static String supplied(String sql) {
        return TransactionTime.apply(sql, shape(sql).orElseThrow().supplying(List.of("at"), List.of("X")));
    }

    @Test
    void everyRowOfSeveralIsGivenTheColumnsAndEachBareDefaultItsValue() {
        String sql = "insert into t (a, at, b) values (1, DEFAULT, f(2, 3)), ($1, now(), default), (g(default), default, 4) returning *";
        InsertShape shape = shape(sql).orElseThrow();
        assertThat(TransactionTime.apply(sql, shape.supplying(List.of("at", "b", "day"), List.of("x", "y", "z")))).isEqualTo(
                "insert into t (a, at, b, \"day\") values (1, x, f(2, 3), z), ($1, now(), y, z), (g(default), x, 4, z) returning *");
        assertThat(shape.leavesToDefault("day")).isTrue();
        assertThat(shape.leavesToDefault("at")).as("given now() in one row").isFalse();
        assertThat(shape.mayLeaveToDefault("at")).isTrue();
        assertThat(shape.mayLeaveToDefault("a")).as("DEFAULT inside a call is an argument").isFalse();
        assertThat(shape.givenColumns()).containsExactly("a", "at", "b");

        InsertShape one = shape("INSERT INTO orders (id, v) VALUES (DEFAULT, $1) RETURNING id").orElseThrow();
        assertThat(one.leavesToDefault("id")).isTrue();
        assertThat(one.givenColumns()).containsExactly("v");
    }

    @Test
    void onConflictInsideAValueIsNotTheClause() {
        assertThat(shape("insert into t (a, b) values ('on conflict', (select 1))")).isPresent();
    }

    /** A column whose value is just {@code nextval('name')} in every row draws from that sequence, named as written. */
    @Test
    void aColumnEveryRowDrawsWithNextvalNamesItsSequence() {
        assertThat(shape("INSERT INTO orders (id, v) VALUES (nextval('orders_seq'), $1)").orElseThrow().calledSequences())
                .containsExactly(java.util.Map.entry("id", "orders_seq"));
        assertThat(shape("insert into t (v, id) values (1, pg_catalog.NEXTVAL ( 'public.\"T Seq\"'::regclass )),"
                + " (2, nextval('public.\"T Seq\"'::REGCLASS))").orElseThrow().calledSequences())
                .containsExactly(java.util.Map.entry("id", "public.\"T Seq\""));
        for (String other : List.of("insert into t (id) values (nextval('a')), (nextval('b'))",
                "insert into t (id) values (nextval('a')), (7)", "insert into t (id) values (nextval('a') + 1)",
                "insert into t (id) values (nextval($1))", "insert into t (id) values (nextval(E'a'))",
                "insert into t (id) values (currval('a'))", "insert into t (id) values (s.nextval('a'))",
                "insert into t (id) select nextval('a')", "insert into t (id) values (default)")) {
            assertThat(shape(other).orElseThrow().calledSequences()).as(other).isEmpty();
        }
    }
}
