package dev.bluegreen.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class UnitsTest {

    @ParameterizedTest
    @CsvSource({"250ms, PT0.25S", "10s, PT10S", "5m, PT5M", "1h, PT1H", "0s, PT0S", "' 30s ', PT30S"})
    void parsesDurationsWithOneUnit(String text, Duration expected) {
        assertThat(Units.parseDuration(text)).isEqualTo(expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ten", "10", "", "-1s", "1.5s", "10S", "1d", "1m30s", "PT10S"})
    void rejectsOtherDurations(String text) {
        assertThatThrownBy(() -> Units.parseDuration(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @CsvSource({"512, 512", "10KiB, 10240", "256MiB, 268435456", "1GiB, 1073741824", "7B, 7", "4kib, 4096"})
    void parsesSizesInBinaryUnits(String text, long expected) {
        assertThat(Units.parseSize(text)).isEqualTo(expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"big", "", "10MB", "1.5MiB", "-1", "1TiB"})
    void rejectsOtherSizes(String text) {
        assertThatThrownBy(() -> Units.parseSize(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @CsvSource({"4096, 4KiB", "1073741824, 1GiB", "1048576, 1MiB", "1000, 1000"})
    void formatsSizesExactly(long bytes, String expected) {
        assertThat(Units.formatSize(bytes)).isEqualTo(expected);
    }
}
