package dev.bluegreen.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class HostPortTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "127.0.0.1:6432     | 127.0.0.1    | 6432 | 127.0.0.1:6432",
            "0.0.0.0:6432       | 0.0.0.0      | 6432 | 0.0.0.0:6432",
            "db.internal:5432   | db.internal  | 5432 | db.internal:5432",
            "[::1]:6432         | ::1          | 6432 | [::1]:6432",
            "[fe80::1%eth0]:1   | fe80::1%eth0 | 1    | [fe80::1%eth0]:1",
            "localhost:0        | localhost    | 0    | localhost:0",
    })
    void parsesHostAndPortAndPrintsThemBack(String text, String host, int port, String printed) {
        HostPort parsed = HostPort.parse(text);

        assertThat(parsed).isEqualTo(new HostPort(host, port));
        assertThat(parsed.toString()).isEqualTo(printed);
        assertThat(HostPort.parse(parsed.toString())).isEqualTo(parsed);
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "", ":6432", "host:", "host:port", "::1:6432", "[::1]6432", "[::1", "h:-1", "h:123456"})
    void rejectsTextThatIsNotHostColonPort(String text) {
        assertThatThrownBy(() -> HostPort.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("expected HOST:PORT, got \"" + text + "\"");
    }

    @ParameterizedTest
    @ValueSource(strings = {"h:65536", "h:99999"})
    void rejectsPortsAbove65535(String text) {
        assertThatThrownBy(() -> HostPort.parse(text)).hasMessageStartingWith("port must be between 0 and 65535");
    }

    @ParameterizedTest
    @CsvSource({
            "localhost, true", "LOCALHOST, true", "localhost., true",
            "127.0.0.1, true", "127.1.2.3, true", "::1, true", "0:0:0:0:0:0:0:1, true",
            "0.0.0.0, false", "::, false", "10.0.0.1, false", "db.internal, false",
            "localhost.example.com, false", "128.0.0.1, false", "my-localhost, false",
    })
    void knowsLoopbackHostsWithoutDns(String host, boolean loopback) {
        assertThat(new HostPort(host, 1).isLoopback()).isEqualTo(loopback);
    }
}
