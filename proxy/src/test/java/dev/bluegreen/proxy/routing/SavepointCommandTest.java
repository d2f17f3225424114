package dev.bluegreen.proxy.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.routing.SavepointCommand.Action;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SavepointCommandTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '~', textBlock = """
            SAVEPOINT a                              | SET         | a
            savepoint PGJDBC_AUTOSAVE;               | SET         | pgjdbc_autosave
            savepoint "Mixed Case"                   | SET         | Mixed Case
            RELEASE SAVEPOINT a                      | RELEASE     | a
            release a                                | RELEASE     | a
            release savepoint                        | RELEASE     | savepoint
            ROLLBACK TO SAVEPOINT a                  | ROLLBACK_TO | a
            rollback work to a                       | ROLLBACK_TO | a
            /* ORM */ ROLLBACK TRANSACTION TO "b"    | ROLLBACK_TO | b
            rollback to savepoint                    | ROLLBACK_TO | savepoint
            """)
    void aSavepointCommandAndTheNameTheServerResolves(String sql, Action action, String name) {
        assertThat(SavepointCommand.of(sql, false)).contains(new SavepointCommand(action, name));
    }

    @ParameterizedTest
    @ValueSource(strings = {"rollback", "rollback and chain", "commit", "savepoint", "savepoint a; select 1",
        "release", "rollback to", "select 'savepoint a'", "savepoint U&\"\\0061\"", "set bluegreen.tenant = 'a'"})
    void anythingElseIsNone(String sql) {
        assertThat(SavepointCommand.of(sql, false)).as(sql).isEmpty();
    }
}
