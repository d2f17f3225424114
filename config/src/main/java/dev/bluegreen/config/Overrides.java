package dev.bluegreen.config;

import java.nio.file.Path;

/**
 * Values given on the command line; each non-null one replaces the matching key of the file,
 * which is then neither read nor validated. {@code --blue}/{@code --green} replace the whole
 * cluster entry.
 *
 * @param listen {@code --listen HOST:PORT}
 * @param blueUrl {@code --blue postgresql://...}
 * @param greenUrl {@code --green postgresql://...}
 * @param admin {@code --admin HOST:PORT}
 * @param stateDir {@code --state-dir DIR}
 * @param stateStore {@code --state-store file|postgresql://...}
 */
public record Overrides(String listen, String blueUrl, String greenUrl, String admin, Path stateDir, String stateStore) {

    private static final Overrides NONE = new Overrides(null, null, null, null, null, null);

    /** Without {@code --state-store}. */
    public Overrides(String listen, String blueUrl, String greenUrl, String admin, Path stateDir) {
        this(listen, blueUrl, greenUrl, admin, stateDir, null);
    }

    /** No flags given. */
    public static Overrides none() {
        return NONE;
    }
}
