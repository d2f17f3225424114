package dev.bluegreen.proxy.routing;

import java.util.Set;

/**
 * Schema changes and maintenance: which of them pin the session (temporary objects) and which cannot run
 * inside a transaction block. Erring towards "not in a transaction block" only costs ordering; erring the
 * other way would make dual-write wrap the statement in a {@code BEGIN} that the server rejects.
 */
final class DdlSyntax {

    private static final Set<String> CREATE_MODIFIERS =
            Set.of("global", "local", "temp", "temporary", "unlogged", "recursive");
    private static final Set<String> TEMPORARY_KINDS = Set.of("table", "view", "sequence");
    private static final Set<String> OUTSIDE_TRANSACTION_OBJECTS = Set.of("database", "tablespace", "subscription");

    private DdlSyntax() {
    }

    static void create(Statement s, Verdict verdict) {
        verdict.add(Trait.DDL);
        int i = 1;
        if (s.isWord(1, "or") && s.isWord(2, "replace")) {
            i = 3;
        }
        boolean temporary = false;
        while (CREATE_MODIFIERS.contains(s.word(i))) {
            temporary |= s.isWord(i, "temp") || s.isWord(i, "temporary");
            i++;
        }
        String object = s.word(i);
        temporary = (temporary && TEMPORARY_KINDS.contains(object)) || inTemporarySchema(s);
        if (temporary && !s.containsWords("on", "commit", "drop")) {
            // ON COMMIT DROP objects die with the transaction: nothing outlives it to replay
            verdict.add(Trait.PINS_SESSION);
        }
        if (object.equals("unique")) {
            object = s.word(++i);
        }
        if ((object.equals("index") && s.isWord(i + 1, "concurrently"))
                || OUTSIDE_TRANSACTION_OBJECTS.contains(object)) {
            verdict.add(Trait.NOT_IN_TRANSACTION_BLOCK);
        }
    }

    static void drop(Statement s, Verdict verdict) {
        verdict.add(Trait.DDL);
        if ((s.isWord(1, "index") && s.isWord(2, "concurrently")) || OUTSIDE_TRANSACTION_OBJECTS.contains(s.word(1))) {
            verdict.add(Trait.NOT_IN_TRANSACTION_BLOCK);
        }
    }

    static void alter(Statement s, Verdict verdict) {
        verdict.add(Trait.DDL);
        boolean outside = switch (s.word(1)) {
            case "system" -> true;
            // REFRESH PUBLICATION, and SET/ADD/DROP PUBLICATION with their default refresh
            case "subscription" -> s.containsWord("refresh") || s.containsWord("publication");
            case "database" -> s.containsWords("set", "tablespace");
            case "table" -> s.containsWord("detach") && s.containsWord("concurrently");
            default -> false;
        };
        if (outside) {
            verdict.add(Trait.NOT_IN_TRANSACTION_BLOCK);
        }
    }

    /** {@code CLUSTER} of every clustered table (no table named) cannot run in a transaction block. */
    static void cluster(Statement s, Verdict verdict) {
        int i = 1;
        if (s.isPunct(1, "(")) {
            i = s.closing(1) + 1;
        }
        if (s.isWord(i, "verbose")) {
            i++;
        }
        if (i >= s.size()) {
            verdict.add(Trait.NOT_IN_TRANSACTION_BLOCK);
        }
    }

    /** {@code REINDEX ... CONCURRENTLY} and {@code REINDEX SCHEMA | DATABASE | SYSTEM}. */
    static void reindex(Statement s, Verdict verdict) {
        int i = s.isPunct(1, "(") ? s.closing(1) + 1 : 1;
        String object = s.word(i);
        if (s.containsWord("concurrently") || object.equals("schema") || object.equals("database")
                || object.equals("system")) {
            verdict.add(Trait.NOT_IN_TRANSACTION_BLOCK);
        }
    }

    /** {@code CREATE TABLE pg_temp.t}: the session's temporary schema, named explicitly. */
    private static boolean inTemporarySchema(Statement s) {
        for (int i = 0; i + 1 < s.size(); i++) {
            if (s.isWord(i, "pg_temp") && s.isPunct(i + 1, ".")) {
                return true;
            }
        }
        return false;
    }
}
