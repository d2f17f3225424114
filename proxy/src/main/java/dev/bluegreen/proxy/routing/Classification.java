package dev.bluegreen.proxy.routing;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What the classifier found in one SQL string: its kind, its traits, how many statements it holds, and
 * the {@code bluegreen.tenant} it sets, if any.
 *
 * @param kind           {@link Kind#READ} only when every statement was proven read-only
 * @param traits         an unmodifiable set
 * @param statementCount non-empty statements found; 0 when the text is empty or could not be read
 * @param tenant         with {@link Trait#TENANT_SETTING}: the tenant the string finally sets, empty when it
 *                       clears it; always empty without that trait
 * @param customSettings the dotted (custom) settings the string sets or resets ({@code SET app.user_id},
 *                       {@code set_config('app.user_id', …)} with the name a literal), folded to lower case:
 *                       the server lists none of them in pg_settings, so a twin learns them only from here;
 *                       {@code ""} stands for one set by a name the text does not spell out ({@code set_config($1, …)})
 * @param normalized     with {@link Trait#NON_DETERMINISTIC}: the text as {@link SqlNormalizer} prints it, the
 *                       name it is counted under (the same for every text this answer is cached for); otherwise
 *                       {@code ""}, as it may be for answers made up of several
 */
public record Classification(Kind kind, Set<Trait> traits, int statementCount, Optional<String> tenant,
                             Set<String> customSettings, String normalized) {

    private static final Classification UNPARSEABLE =
            new Classification(Kind.WRITE, EnumSet.of(Trait.UNPARSEABLE), 0, Optional.empty());
    private static final Classification EMPTY =
            new Classification(Kind.READ, EnumSet.noneOf(Trait.class), 0, Optional.empty());

    public Classification {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(tenant, "tenant");
        Objects.requireNonNull(normalized, "normalized");
        customSettings = Set.copyOf(customSettings);
        EnumSet<Trait> copy = EnumSet.noneOf(Trait.class);
        copy.addAll(traits);
        traits = Collections.unmodifiableSet(copy);
        if (statementCount < 0) {
            throw new IllegalArgumentException("statementCount < 0");
        }
        if (tenant.isPresent() && !copy.contains(Trait.TENANT_SETTING)) {
            throw new IllegalArgumentException("a tenant value needs the TENANT_SETTING trait");
        }
    }

    public Classification(Kind kind, Set<Trait> traits, int statementCount) {
        this(kind, traits, statementCount, Optional.empty());
    }

    public Classification(Kind kind, Set<Trait> traits, int statementCount, Optional<String> tenant) {
        this(kind, traits, statementCount, tenant, Set.of());
    }

    public Classification(Kind kind, Set<Trait> traits, int statementCount, Optional<String> tenant,
                          Set<String> customSettings) {
        this(kind, traits, statementCount, tenant, customSettings, "");
    }

    /** The answer for text with no statement (empty, blanks, comments, semicolons): it runs nothing, a read. */
    public static Classification empty() {
        return EMPTY;
    }

    /** The answer for text that could not be read: a write, so that it reaches both clusters. */
    public static Classification unparseable() {
        return UNPARSEABLE;
    }

    public boolean has(Trait trait) {
        return traits.contains(trait);
    }

    public boolean isRead() {
        return kind == Kind.READ;
    }

    /**
     * A read that opens no transaction or cursor, sets no session state and listens to nothing: run
     * outside a transaction it is a unit of its own that changes nothing, and may run on either cluster.
     */
    public boolean isPlainRead() {
        return isRead() && !has(Trait.TRANSACTION_BEGIN) && !has(Trait.SESSION_STATE) && !has(Trait.CURSOR)
                && !has(Trait.LISTEN);
    }

    /** Traits of statements that change no data: transaction control, session settings, listening. */
    private static final Set<Trait> CONTROL_ONLY = EnumSet.of(Trait.TRANSACTION_BEGIN, Trait.READ_ONLY_TRANSACTION,
            Trait.TRANSACTION_END, Trait.ROLLBACK, Trait.SAVEPOINT, Trait.ROLLBACK_TO, Trait.SESSION_STATE,
            Trait.SET_LOCAL, Trait.TENANT_SETTING, Trait.NAMES_STATEMENTS, Trait.LISTEN,
            Trait.NOT_IN_TRANSACTION_BLOCK, // alone: VACUUM, ALTER SYSTEM; with the others, DISCARD ALL
            Trait.TRANSACTION_BLOCK_ONLY); // alone: LOCK; with SET_LOCAL, SET LOCAL (a DECLARE is a CURSOR too)

    /**
     * Whether running this may change data: a write that is not one statement of transaction control,
     * session settings, locking or maintenance alone ({@code BEGIN}, {@code COMMIT}, {@code SET}, {@code LOCK},
     * {@code DISCARD ALL},
     * {@code VACUUM}; a {@code PREPARE}, whose {@code EXECUTE} may). Judged on the statement's traits, so a
     * query that only calls {@code set_config} beside a function the configuration names as writing is taken
     * for a setting.
     */
    public boolean mayChangeData() {
        return kind == Kind.WRITE && (statementCount != 1 || traits.isEmpty() || !CONTROL_ONLY.containsAll(traits));
    }
}
