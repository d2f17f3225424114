package dev.bluegreen.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DurationsTest {

    @ParameterizedTest
    @CsvSource({"0, 0", "45, 45", "90s, 90", "5m, 300", "5M, 300", "1h, 3600", "1m30s, 90", "1h30m, 5400",
            "2h0m5s, 7205", "' 10m ', 600", "86400, 86400", "24h, 86400"})
    void parsesWhatAnOperatorWrites(String text, long seconds) {
        assertThat(Durations.parseSeconds(text)).isEqualTo(seconds);
    }

    @ParameterizedTest
    @CsvSource({"''", "m", "5 m", "1m30", "30s1m", "1.5h", "-1", "5min", "1d"})
    void refusesWhatIsNotADuration(String text) {
        assertThatIllegalArgumentException().isThrownBy(() -> Durations.parseSeconds(text))
                .withMessageContaining("is not a duration");
    }

    @Test
    void refusesMoreThanADay() {
        assertThatIllegalArgumentException().isThrownBy(() -> Durations.parseSeconds("24h1s"))
                .withMessageContaining("24h at most");
        assertThatIllegalArgumentException().isThrownBy(() -> Durations.parseSeconds("9223372036854775808"))
                .withMessageContaining("24h at most");
    }

    @ParameterizedTest
    @CsvSource({"0, 0s", "45, 45s", "60, 1m", "130, 2m10s", "300, 5m", "3600, 1h", "3661, 1h1m1s", "5400, 1h30m"})
    void formatsLargestUnitFirst(long seconds, String text) {
        assertThat(Durations.format(seconds)).isEqualTo(text);
    }
}
