package dev.bluegreen.proxy.control;

import io.micrometer.core.instrument.MockClock;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.TimeUnit;

/**
 * One hand-moved clock for both the windows (Micrometer's) and the autopilot (the JDK's); other packages' tests
 * move it too.
 */
public final class TickingClock extends Clock {

    public final MockClock mock = new MockClock();

    public void advance(Duration by) {
        mock.add(by.toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(mock.wallTime());
    }
}
