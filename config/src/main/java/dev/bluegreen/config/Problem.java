package dev.bluegreen.config;

import java.util.Objects;

/**
 * One thing wrong with a configuration, located by its key path ({@code clusters.blue.port},
 * {@code users[1].auth}) or by the command-line flag that supplied the value ({@code --listen}).
 * Messages never contain secret values.
 */
public record Problem(String path, String message) {

    public Problem {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(message, "message");
    }

    /** {@code path.to.key: problem}, or just the message when there is no path. */
    @Override
    public String toString() {
        return path.isEmpty() ? message : path + ": " + message;
    }
}
