package dev.bluegreen.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GeneratedValuesTest {

    @Test
    void onlyATextWithSomethingAfterASemicolonMayHoldSeveralStatements() {
        assertThat(GeneratedValues.mayHoldSeveral("insert into t values (1)")).isFalse();
        assertThat(GeneratedValues.mayHoldSeveral("UPDATE pgbench_branches SET bbalance = bbalance + 1 WHERE bid = 1;\n")).isFalse();
        assertThat(GeneratedValues.mayHoldSeveral("insert into a values (1); insert into b values (2)")).isTrue();
        assertThat(GeneratedValues.mayHoldSeveral("insert into a values (';')")).isTrue(); // (lexed, then found one)
    }
}
