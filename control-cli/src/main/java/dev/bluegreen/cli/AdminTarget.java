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
            return usable(url, readToken(tokenFile, true), "--token-file " + tokenFile);
        }
        String fromEnv = env.get(TOKEN_VARIABLE);
        if (fromEnv != null && !fromEnv.isBlank()) {
            return usable(url, fromEnv.strip(), TOKEN_VARIABLE);
        }
        Path written = stateDir.resolve(TOKEN_FILE_NAME);
        String token = readToken(written, false);
        if (token == null) {
            throw BgctlException.usage("no admin token: pass --token-file FILE, set " + TOKEN_VARIABLE
                    + ", or point --state-dir at the proxy's state directory (there is no " + written + ")");
        }
        return usable(url, token, written.toString());
    }

    /**
     * Only printable ASCII (spaces allowed inside) can travel in an {@code Authorization} header: the HTTP
     * client refuses control characters, and the proxy reads header bytes as ISO-8859-1, so a byte order
     * mark or a non-ASCII letter would never match. The proxy refuses such tokens at start the same way.
     * The message names the character's position and kind, never the token.
     */
    private static AdminTarget usable(URI url, String token, String source) {
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c >= 0x20 && c <= 0x7E) {
                continue;
            }
            String what = c == '\uFEFF' ? "a byte order mark (U+FEFF); save it without one"
                    : c < 0x20 || c == 0x7F ? "a control character" : "not ASCII";
            throw BgctlException.usage("the admin token from " + source
                    + " must be printable ASCII, but character " + (i + 1) + " is " + what);
        }
        return new AdminTarget(url, token, source);
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
