package dev.bluegreen.embedded;

import java.util.List;

/**
 * How to send a process a signal by name ({@code INT}, {@code HUP}, {@code STOP}): Java itself sends only
 * TERM and KILL. Through the shell's own {@code kill}, since a JDK-only machine or image may lack procps'
 * kill(1), while /bin/sh is there wherever initdb runs (it starts the bootstrap backend through it).
 */
public final class Signals {

    private Signals() {
    }

    /** The command that sends {@code signal} to {@code pid}; it exits 0 once sent. */
    public static List<String> command(long pid, String signal) {
        return List.of("/bin/sh", "-c", "kill -s \"$1\" \"$2\"", "sh", signal, Long.toString(pid));
    }
}
