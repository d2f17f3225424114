package dev.bluegreen.proxy.routing;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a session's tenant comes from: one startup parameter. {@code application_name}, {@code user} and
 * {@code database} are startup parameters like any other; a custom one (say {@code bluegreen.tenant}) may
 * be sent directly or inside {@code options} as {@code -c name=value}. A {@code SET bluegreen.tenant} in
 * the session overrides whatever this finds (see {@link StickyKeys#tenant}).
 *
 * @param parameter the startup parameter's name, matched case-insensitively as the server matches settings
 */
public record TenantSource(String parameter) {

    public static final TenantSource APPLICATION_NAME = new TenantSource("application_name");
    public static final TenantSource USER = new TenantSource("user");
    public static final TenantSource DATABASE = new TenantSource("database");
    /** A client may send {@code bluegreen.tenant} at startup, the same name it would {@code SET}. */
    public static final TenantSource TENANT_PARAMETER = new TenantSource(SettingSyntax.TENANT_SETTING);

    public TenantSource {
        Objects.requireNonNull(parameter, "parameter");
        if (parameter.isBlank()) {
            throw new IllegalArgumentException("the tenant's startup parameter needs a name");
        }
        parameter = parameter.strip().toLowerCase(Locale.ROOT);
    }

    /**
     * Reads the configuration form: {@code application_name}, {@code user}, {@code database}, or
     * {@code parameter:<name>} for any other startup parameter.
     */
    public static TenantSource parse(String text) {
        String value = text.strip();
        if (value.regionMatches(true, 0, "parameter:", 0, "parameter:".length())) {
            return new TenantSource(value.substring("parameter:".length()));
        }
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "application_name", "user", "database" -> new TenantSource(value);
            default -> throw new IllegalArgumentException(
                    "tenant source must be application_name, user, database or parameter:<name>, was " + text);
        };
    }

    /** The tenant named by these startup parameters, if any; blank values count as none. */
    public Optional<String> tenantOf(Map<String, String> startupParameters) {
        Optional<String> direct = lookup(startupParameters, parameter);
        if (direct.isPresent()) {
            return direct;
        }
        if (parameter.equals("database")) {
            // the server's rule: no database named means the user's name
            return lookup(startupParameters, "user");
        }
        return lookup(startupParameters, "options").flatMap(options -> fromOptions(options, parameter));
    }

    private static Optional<String> lookup(Map<String, String> parameters, String name) {
        for (Map.Entry<String, String> entry : parameters.entrySet()) {
            if (entry.getKey().equalsIgnoreCase(name) && entry.getValue() != null && !entry.getValue().isBlank()) {
                return Optional.of(entry.getValue());
            }
        }
        return Optional.empty();
    }

    /** {@code -c name=value}, {@code -cname=value} or {@code --name=value} in an {@code options} string. */
    static Optional<String> fromOptions(String options, String name) {
        List<String> words = splitOptions(options);
        Optional<String> found = Optional.empty();
        for (int i = 0; i < words.size(); i++) {
            String word = words.get(i);
            String setting = null;
            if (word.equals("-c") && i + 1 < words.size()) {
                setting = words.get(++i);
            } else if (word.startsWith("--")) {
                setting = word.substring(2);
            } else if (word.startsWith("-c")) {
                setting = word.substring(2);
            }
            int eq = setting == null ? -1 : setting.indexOf('=');
            if (eq > 0 && setting.substring(0, eq).replace('-', '_').equalsIgnoreCase(name)) {
                String value = setting.substring(eq + 1);
                // like the server, the last setting wins
                found = value.isBlank() ? Optional.empty() : Optional.of(value);
            }
        }
        return found;
    }

    /** The server's splitting of {@code options}: whitespace separates, a backslash keeps the next character. */
    private static List<String> splitOptions(String options) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        for (int i = 0; i < options.length(); i++) {
            char c = options.charAt(i);
            if (Character.isWhitespace(c)) {
                if (inWord) {
                    words.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                }
            } else {
                if (c == '\\' && i + 1 < options.length()) {
                    c = options.charAt(++i);
                }
                word.append(c);
                inWord = true;
            }
        }
        if (inWord) {
            words.add(word.toString());
        }
        return words;
    }
}
