package dev.bluegreen.cli;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Which admin API bgctl talks to and the bearer token it presents, resolved once per run from the
 * command line, the environment and the proxy's state directory, in that order of precedence.
 *
 * @param url         the admin API's base URL, without a trailing slash
 * @param token       the bearer token; never printed
 * @param tokenSource where the token came from, for messages ("--token-file /etc/bg/token")
 */
record AdminTarget(URI url, String token, String tokenSource) {

    static final String DEFAULT_URL = "http://127.0.0.1:9432";
    static final String URL_VARIABLE = "BLUEGREEN_ADMIN_URL";
    static final String TOKEN_VARIABLE = "BLUEGREEN_ADMIN_TOKEN";
    /** The file the proxy writes a fresh token into when it was given none. */
    static final String TOKEN_FILE_NAME = "admin-token";

    @Override
    public String toString() {
        return "AdminTarget[url=" + url + ", token from " + tokenSource + "]";
    }

    /**
     * @param urlOption  {@code --url}, or null
     * @param tokenFile  {@code --token-file}, or null
     * @param stateDir   {@code --state-dir} (never null: it has a default)
     */
    static AdminTarget resolve(String urlOption, Path tokenFile, Path stateDir, Map<String, String> env) {
        URI url = parseUrl(firstNonBlank(urlOption, env.get(URL_VARIABLE), DEFAULT_URL));
        if (tokenFile != null) {
            return new AdminTarget(url, readToken(tokenFile, true), "--token-file " + tokenFile);
        }
        String fromEnv = env.get(TOKEN_VARIABLE);
        if (fromEnv != null && !fromEnv.isBlank()) {
            return new AdminTarget(url, fromEnv.strip(), TOKEN_VARIABLE);
        }
        Path written = stateDir.resolve(TOKEN_FILE_NAME);
        String token = readToken(written, false);
        if (token == null) {
            throw BgctlException.usage("no admin token: pass --token-file FILE, set " + TOKEN_VARIABLE
                    + ", or point --state-dir at the proxy's state directory (there is no " + written + ")");
        }
        return new AdminTarget(url, token, written.toString());
    }

    /** Accepts {@code host:port} for convenience; anything but http(s) with a host is a usage error. */
    static URI parseUrl(String text) {
        String withScheme = text.contains("://") ? text : "http://" + text;
        try {
            URI uri = new URI(withScheme.endsWith("/") ? withScheme.substring(0, withScheme.length() - 1) : withScheme);
            if (!"http".equalsIgnoreCase(uri.getScheme()) && !"https".equalsIgnoreCase(uri.getScheme())
                    || uri.getHost() == null) {
                throw BgctlException.usage("--url must be http://HOST:PORT or https://HOST:PORT, was '" + text + "'");
            }
            return uri;
        } catch (URISyntaxException e) {
            throw BgctlException.usage("--url is not a URL: '" + text + "' (" + e.getReason() + ")");
        }
    }

    /** The token is the file's content without surrounding whitespace (a trailing newline is usual). */
    private static String readToken(Path file, boolean required) {
        String token;
        try {
            token = Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (NoSuchFileException e) {
            if (required) {
                throw BgctlException.usage("token file " + file + " does not exist");
            }
            return null;
        } catch (IOException e) {
            throw BgctlException.usage("cannot read token file " + file + ": " + e.getMessage());
        }
        if (token.isEmpty()) {
            throw BgctlException.usage("token file " + file + " is empty");
        }
        return token;
    }

    private static String firstNonBlank(String... candidates) {
        for (String candidate : candidates) {
            if (candidate != null && !candidate.isBlank()) {
                return candidate.strip();
            }
        }
        throw new IllegalArgumentException("no candidate");
    }
}
