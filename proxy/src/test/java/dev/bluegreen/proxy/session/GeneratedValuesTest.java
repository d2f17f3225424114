package dev.bluegreen.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.routing.InsertShape;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class GeneratedValuesTest {

    @Test
    void onlyATextWithSomethingAfterASemicolonMayHoldSeveralStatements() {
        assertThat(GeneratedValues.mayHoldSeveral("insert into t values (1)")).isFalse();
        assertThat(GeneratedValues.mayHoldSeveral("UPDATE pgbench_branches SET bbalance = bbalance + 1 WHERE bid = 1;\n")).isFalse();
        assertThat(GeneratedValues.mayHoldSeveral("insert into a values (1); insert into b values (2)")).isTrue();
        assertThat(GeneratedValues.mayHoldSeveral("insert into a values ('a;b', 'it''s; c')")).isFalse();
        assertThat(GeneratedValues.mayHoldSeveral("insert into a values ('x'); insert into b values ('y')")).isTrue();
        assertThat(GeneratedValues.mayHoldSeveral("select $$;$$")).isTrue(); // (lexed, then found one)
    }

    @Test
    void insertsIntoOneTableDrawOncePerTableAndSayTheyRepeatIt() {
        InsertShape blog = insert("insert into blogs (name) values ($1) returning id");
        InsertShape tag = insert("insert into tags (label) values ($1) returning id");
        InsertShape otherBlog = insert("insert into public.BLOGS (name) values ($1) returning id");

        List<InsertShape> twice = Arrays.asList(blog, tag, null, otherBlog);
        assertThat(GeneratedValues.drawing(twice)).containsExactly(blog, tag);
        assertThat(GeneratedValues.repeatsATable(twice, List.of("blogs", "tags"))).isTrue();
        assertThat(GeneratedValues.repeatsATable(twice, List.of("public.blogs"))).isTrue();
        assertThat(GeneratedValues.repeatsATable(Arrays.asList(blog, null, tag), List.of("blogs", "tags"))).isFalse();
    }

    @Test
    void aRepeatedTableThatDrawsNothingNeedsNoTurnOfItsOwn() {
        InsertShape blog = insert("insert into blogs (id, name) values ($1, $2)");
        InsertShape tag = insert("insert into tags (label) values ($1) returning id");
        InsertShape otherBlog = insert("insert into blogs (id, name) values ($1, $2)");

        assertThat(GeneratedValues.repeatsATable(List.of(blog, tag, otherBlog), List.of("tags"))).isFalse();
        assertThat(GeneratedValues.repeatsATable(List.of(blog, tag, otherBlog), List.of())).isFalse();
    }

    private static InsertShape insert(String sql) {
        return InsertShape.of(sql, false).orElseThrow();
    }
}
