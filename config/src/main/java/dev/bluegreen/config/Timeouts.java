package dev.bluegreen.config;

import java.time.Duration;
import java.util.Objects;

/**
 * @param startup how long a client has from connecting to finishing authentication
 * @param connect how long the proxy waits for a cluster to accept a TCP connection
 * @param shutdownGrace how long a stopping proxy lets sessions finish before closing them
 * @param keepalive     how long a client or cluster socket may be silent before TCP keepalive probes
 *                      start; zero turns keepalive off
 * @param follower      how much longer than the leader the follower may take over the same work before
 *                      it counts as lost (out of sync) and the session goes on with the leader alone
 * @param greenRead     how long green may take to send the first row of a read it serves before the read is
 *                      cancelled there and run on blue instead; zero turns the bound off
 * @param commitWait    under dual-write, how long a leader {@code COMMIT} waits at most for other sessions'
 *                      autocommit writes the leader is running, so that it does not overlap them there; zero: it does
 *                      not wait
 */
public record Timeouts(Duration startup, Duration connect, Duration shutdownGrace, Duration keepalive, Duration follower,
                       Duration greenRead, Duration commitWait) {

    public static final Duration DEFAULT_STARTUP = Duration.ofSeconds(10);
    public static final Duration DEFAULT_CONNECT = Duration.ofSeconds(5);
    public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(30);
    public static final Duration DEFAULT_KEEPALIVE = Duration.ofSeconds(60);
    public static final Duration DEFAULT_FOLLOWER = Duration.ofSeconds(10);
    public static final Duration DEFAULT_GREEN_READ = Duration.ofSeconds(10);
    public static final Duration DEFAULT_COMMIT_WAIT = Duration.ofMillis(1);
    public static final int MAX_KEEPALIVE_SECONDS = 32767;

    public Timeouts {
        Objects.requireNonNull(startup, "startup");
        Objects.requireNonNull(connect, "connect");
        Objects.requireNonNull(shutdownGrace, "shutdownGrace");
        Objects.requireNonNull(keepalive, "keepalive");
        Objects.requireNonNull(follower, "follower");
        Objects.requireNonNull(greenRead, "greenRead");
        Objects.requireNonNull(commitWait, "commitWait");
    }

    /**
     * 10 s startup, 5 s connect, 30 s shutdown grace, keepalive probes after 60 s of silence, a follower
     * 10 s behind the leader's time counts as lost, a read green has not started answering in 10 s goes to blue, a
     * leader COMMIT waits up to 1 ms for the autocommit writes it would overlap.
     */
    public static Timeouts defaults() {
        return new Timeouts(DEFAULT_STARTUP, DEFAULT_CONNECT, DEFAULT_SHUTDOWN_GRACE, DEFAULT_KEEPALIVE, DEFAULT_FOLLOWER,
                DEFAULT_GREEN_READ, DEFAULT_COMMIT_WAIT);
    }

    public Timeouts withStartup(Duration d) {
        return new Timeouts(d, connect, shutdownGrace, keepalive, follower, greenRead, commitWait);
    }

    public Timeouts withConnect(Duration d) {
        return new Timeouts(startup, d, shutdownGrace, keepalive, follower, greenRead, commitWait);
    }

    public Timeouts withShutdownGrace(Duration d) {
        return new Timeouts(startup, connect, d, keepalive, follower, greenRead, commitWait);
    }

    public Timeouts withKeepalive(Duration d) {
        return new Timeouts(startup, connect, shutdownGrace, d, follower, greenRead, commitWait);
    }

    public Timeouts withFollower(Duration d) {
        return new Timeouts(startup, connect, shutdownGrace, keepalive, d, greenRead, commitWait);
    }

    public Timeouts withGreenRead(Duration d) {
        return new Timeouts(startup, connect, shutdownGrace, keepalive, follower, d, commitWait);
    }

    public Timeouts withCommitWait(Duration d) {
        return new Timeouts(startup, connect, shutdownGrace, keepalive, follower, greenRead, d);
    }
}
