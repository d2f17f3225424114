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

    @Test
    void anOrmsInsertNamesItsTableAndColumns() {
        assertThat(shape("INSERT INTO \"orders\" (\"v\", \"created_at\") VALUES ($1, $2) RETURNING \"id\""))
                .contains(new InsertShape("\"orders\"", List.of("v", "created_at")));
        assertThat(shape("insert into public.Orders as o (V, note) values (1, 'a;b'), (2, $$x$$) returning *;"))
                .contains(new InsertShape("public.Orders", List.of("v", "note")));
        assertThat(shape("/* app */ insert into \"My Table\" (\"Id\") select 1 -- tail"))
                .contains(new InsertShape("\"My Table\"", List.of("Id")));
        assertThat(shape("insert into t (a) with x as (select 1) select * from x")).contains(new InsertShape("t", List.of("a")));
        assertThat(shape("INSERT INTO db.s.t (a) TABLE other")).contains(new InsertShape("db.s.t", List.of("a")));
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
            "insert into t (a) values (1) on conflict (a) do nothing",
            "insert into t (a) values (1) ON CONFLICT DO NOTHING returning a",
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
    void onConflictInsideAValueIsNotTheClause() {
        assertThat(shape("insert into t (a, b) values ('on conflict', (select 1))")).isPresent();
    }
}
