package dev.bluegreen.proxy.routing;

import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code SET}, {@code RESET}, {@code DISCARD} and {@code set_config(...)}: which scope they change, and
 * whether they touch {@code bluegreen.tenant}, the setting a client uses to name its tenant.
 */
final class SettingSyntax {

    /** Three literal arguments and their commas take far fewer tokens than this. */
    private static final int MAX_SET_CONFIG_TOKENS = 64;

    static final String TENANT_SETTING = StickyKeys.TENANT_SETTING;
    /** Stands in {@link Classification#customSettings()} for a setting set by a name the SQL does not spell out. */
    static final String UNKNOWN_SETTING = "";

    private static final Set<String> TRUE = Set.of("t", "tr", "tru", "true", "y", "ye", "yes", "on", "1");
    private static final Set<String> FALSE = Set.of("f", "fa", "fal", "fals", "false", "n", "no", "of", "off", "0");

    private SettingSyntax() {
    }

    /** {@code SET [SESSION | LOCAL] ...}, {@code SET TRANSACTION}, {@code SET CONSTRAINTS}, {@code SET ROLE} ... */
    static void set(Statement s, Verdict verdict) {
        // each keyword here is also a setting's first part when a dot follows it: SET local.user_id = 1 sets
        // the session's custom setting local.user_id
        int i = 1;
        boolean local = false;
        if (keyword(s, 1, "local")) {
            local = true;
            i = 2;
        } else if (keyword(s, 1, "session") && !s.isWord(2, "characteristics") && !s.isWord(2, "authorization")) {
            i = 2;
        }
        if (keyword(s, i, "transaction")) {
            verdict.add(Trait.SET_LOCAL).add(Trait.TRANSACTION_BLOCK_ONLY); // warned about outside one (25P01)
            if (s.isWord(i + 1, "snapshot")) {
                verdict.add(Trait.IMPORTS_SNAPSHOT);
            }
            if (TransactionSyntax.modes(s, i + 1) == TransactionSyntax.Access.READ_ONLY) {
                verdict.read().add(Trait.READ_ONLY_TRANSACTION);
            }
            return;
        }
        if (keyword(s, i, "constraints")) {
            verdict.add(Trait.SET_LOCAL).add(Trait.TRANSACTION_BLOCK_ONLY);
            return;
        }
        if (local) {
            verdict.add(Trait.SET_LOCAL).add(Trait.TRANSACTION_BLOCK_ONLY);
        } else {
            verdict.add(Trait.SESSION_STATE);
        }
        String name = settingName(s, i);
        if (name.indexOf('.') > 0) {
            verdict.customSetting(name); // SET LOCAL too: it leaves the setting defined (empty) once it ends
        }
        int valueStart = name.equals(TENANT_SETTING) ? afterName(s, i) : -1;
        if (valueStart >= 0 && (s.isWord(valueStart, "to") || s.get(valueStart).isOperator("="))) {
            verdict.tenant(value(s.from(valueStart + 1)));
        }
    }

    private static boolean keyword(Statement s, int i, String lower) {
        return s.isWord(i, lower) && !s.isPunct(i + 1, ".");
    }

    /** {@code RESET name}, {@code RESET ALL}: always session scope. */
    static void reset(Statement s, Verdict verdict) {
        verdict.add(Trait.SESSION_STATE);
        String name = settingName(s, 1);
        if (name.indexOf('.') > 0) {
            verdict.customSetting(name);
        }
        if ((s.isWord(1, "all") && s.size() == 2) || name.equals(TENANT_SETTING)) {
            verdict.tenant(null);
        }
    }

    /** {@code DISCARD ALL | PLANS | SEQUENCES | TEMP}. */
    static void discard(Statement s, Verdict verdict) {
        verdict.add(Trait.SESSION_STATE);
        if (s.isWord(1, "all")) {
            verdict.add(Trait.NOT_IN_TRANSACTION_BLOCK).add(Trait.NAMES_STATEMENTS).tenant(null);
        }
    }

    /**
     * {@code set_config(name, value, is_local)} whose {@code (} is at {@code open}. Only literal arguments can
     * be read: a parameter for {@code is_local} counts as session scope, and a tenant given as a parameter
     * is not seen (parameters never reach the classifier).
     */
    static void setConfig(Statement s, int open, Verdict verdict) {
        if (s.closingWithin(open, MAX_SET_CONFIG_TOKENS) < 0) {
            verdict.add(Trait.SESSION_STATE).customSetting(UNKNOWN_SETTING); // arguments this long are not literals
            return;
        }
        List<Statement> args = s.arguments(open);
        boolean local = args.size() == 3 && isLiteral(args.get(2))
                && TRUE.contains(args.get(2).singleValue().strip().toLowerCase(Locale.ROOT));
        verdict.add(local ? Trait.SET_LOCAL : Trait.SESSION_STATE);
        String name = args.size() == 3 && isString(args.get(0)) ? Lexer.asciiLower(args.get(0).singleValue().strip()) : "";
        if (name.indexOf('.') > 0) {
            verdict.customSetting(name);
        } else if (args.isEmpty() || !isString(args.get(0))) {
            verdict.customSetting(UNKNOWN_SETTING); // set_config($1, ...): a setting no one can name from here
        }
        if (args.size() == 3 && isString(args.get(0))
                && Lexer.asciiLower(args.get(0).singleValue().strip()).equals(TENANT_SETTING)
                && isString(args.get(1))) {
            verdict.tenant(args.get(1).singleValue());
        }
    }

    private static boolean isLiteral(Statement arg) {
        if (arg.size() != 1) {
            return false;
        }
        Token token = arg.get(0);
        String value = token.value().strip().toLowerCase(Locale.ROOT);
        return (token.type() == Token.Type.WORD && (value.equals("true") || value.equals("false")))
                || (token.type() == Token.Type.STRING && (TRUE.contains(value) || FALSE.contains(value)));
    }

    private static boolean isString(Statement arg) {
        return arg.size() == 1 && arg.get(0).type() == Token.Type.STRING;
    }

    /** A dotted setting name starting at {@code i}, folded as the server folds it, or {@code ""}. */
    private static String settingName(Statement s, int i) {
        StringBuilder name = new StringBuilder();
        int at = i;
        while (at < s.size() && s.get(at).isIdentifier()) {
            name.append(Lexer.asciiLower(s.get(at).value()));
            if (!s.isPunct(at + 1, ".")) {
                return name.toString();
            }
            name.append('.');
            at += 2;
        }
        return "";
    }

    private static int afterName(Statement s, int i) {
        int at = i;
        while (s.isPunct(at + 1, ".")) {
            at += 2;
        }
        return at + 1 < s.size() ? at + 1 : -1;
    }

    /**
     * A {@code SET} value as the server stores it for a custom setting: {@code DEFAULT} clears it, a list
     * is joined with {@code ", "}, an unquoted word is folded.
     */
    private static String value(Statement value) {
        if (value.size() == 1 && value.isWord(0, "default")) {
            return null;
        }
        StringBuilder joined = new StringBuilder();
        for (int i = 0; i < value.size(); i++) {
            Token token = value.get(i);
            if (token.isPunct(",")) {
                joined.append(", ");
            } else {
                joined.append(token.value());
            }
        }
        return joined.toString();
    }
}
