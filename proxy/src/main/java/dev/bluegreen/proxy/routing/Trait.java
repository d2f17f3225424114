package dev.bluegreen.proxy.routing;

/**
 * Facts about a statement that the session and dual-write engines act on, independent of its
 * {@link Kind}. A multi-statement string carries the union of its statements' traits.
 *
 * <p>Transaction control is routed by these traits, never by the kind: {@code COMMIT} is a write so that
 * a caller routing by kind alone errs on the safe side, but it must go wherever a transaction is open.
 */
public enum Trait {
    /** {@code BEGIN}, {@code START TRANSACTION}, and {@code COMMIT/ROLLBACK AND CHAIN} (which opens the next). */
    TRANSACTION_BEGIN,
    /**
     * {@code BEGIN/START TRANSACTION ... READ ONLY} or {@code SET TRANSACTION ... READ ONLY}: PostgreSQL
     * itself will refuse data changes in this transaction (these statements are {@link Kind#READ}).
     */
    READ_ONLY_TRANSACTION,
    /**
     * {@code COMMIT}, {@code END}, {@code ROLLBACK}, {@code ABORT}, {@code PREPARE TRANSACTION},
     * {@code COMMIT PREPARED}, {@code ROLLBACK PREPARED}.
     */
    TRANSACTION_END,
    /**
     * {@code ROLLBACK} or {@code ABORT} of the whole transaction (with {@link #TRANSACTION_END}; not
     * {@code ROLLBACK TO} a savepoint, nor {@code ROLLBACK PREPARED}): the transaction ends rolled back,
     * whatever becomes of the answer.
     */
    ROLLBACK,
    /** {@code SAVEPOINT}, {@code RELEASE [SAVEPOINT]}, {@code ROLLBACK TO [SAVEPOINT]}. */
    SAVEPOINT,
    /**
     * {@code ROLLBACK TO [SAVEPOINT]}, besides {@link #SAVEPOINT}: of the three the one that releases row locks
     * before the transaction ends.
     */
    ROLLBACK_TO,
    /**
     * Changes session state that both twins must share and that is replayed when a twin is made:
     * {@code SET}/{@code SET SESSION}, {@code RESET}, {@code PREPARE}, {@code DEALLOCATE}, {@code DISCARD},
     * {@code SET ROLE}, {@code SET SESSION AUTHORIZATION}, {@code LOAD}, and {@code set_config(..., false)}
     * (or a {@code set_config} whose third argument is not a literal).
     */
    SESSION_STATE,
    /**
     * Transaction-scoped settings, replayed when a cluster's side of the transaction is opened lazily:
     * {@code SET LOCAL}, {@code SET TRANSACTION}, {@code SET CONSTRAINTS}, {@code set_config(..., true)}.
     */
    SET_LOCAL,
    /**
     * Sets or clears {@code bluegreen.tenant} ({@code SET}, {@code SET LOCAL}, {@code RESET},
     * {@code RESET ALL}, {@code DISCARD ALL}, {@code set_config} with literal arguments). The value is
     * {@link Classification#tenant()}; empty means cleared.
     */
    TENANT_SETTING,
    /**
     * Creates or drops prepared statements in SQL ({@code PREPARE name}, {@code DEALLOCATE},
     * {@code DISCARD ALL}), or may (a {@code DO} block whose body speaks of them, through {@code EXECUTE}):
     * the names a protocol {@code Bind} refers to may now mean other statements.
     */
    NAMES_STATEMENTS,
    /**
     * {@code SET TRANSACTION SNAPSHOT 'id'}: takes a snapshot another session exported, which exists on the
     * cluster that exported it only, the leader (an export runs there first, and its answer is the client's).
     */
    IMPORTS_SNAPSHOT,
    /** {@code LISTEN} or {@code UNLISTEN}: lives on the leader only and moves with it at cutover. */
    LISTEN,
    /**
     * Creates state that cannot be replayed on a new twin, so the session is pinned to the leader:
     * temporary tables, views and sequences (unless {@code ON COMMIT DROP}), {@code SELECT ... INTO TEMP},
     * {@code DECLARE ... WITH HOLD}, and session-level advisory locks ({@code pg_advisory_lock},
     * {@code pg_try_advisory_lock} and their {@code _shared} forms; not the {@code _xact_} ones).
     */
    PINS_SESSION,
    /**
     * Cannot run inside a transaction block, so dual-write cannot wrap it in one: it runs
     * leader-then-follower, unordered ({@code VACUUM}, {@code CREATE/DROP INDEX CONCURRENTLY},
     * {@code REINDEX ... CONCURRENTLY}, {@code CREATE/DROP DATABASE}, {@code ALTER SYSTEM},
     * tablespaces, subscriptions, a bare {@code CLUSTER}, {@code DISCARD ALL}, {@code COMMIT/ROLLBACK PREPARED},
     * {@code DETACH PARTITION ... CONCURRENTLY}).
     */
    NOT_IN_TRANSACTION_BLOCK,
    /**
     * Mentions something whose value differs between runs or clusters ({@code now()},
     * {@code current_timestamp}, {@code random()}, {@code gen_random_uuid()}, {@code nextval} ...), or locks
     * with {@code SKIP LOCKED} (the rows taken depend on what other sessions hold at that moment), so the
     * twins may legitimately differ. Column defaults are out of sight: an {@code INSERT} relying on a
     * sequence or {@code now()} default does not carry this trait.
     */
    NON_DETERMINISTIC,
    /**
     * Refused by the server outside a transaction block ({@code LOCK}, {@code DECLARE} without
     * {@code WITH HOLD}), or warned about there ({@code SET LOCAL}, {@code SET TRANSACTION}, {@code SET
     * CONSTRAINTS}: {@code 25P01}): an autocommit one must not be wrapped in a transaction, or it would
     * succeed where the server says it cannot, or without the server's warning.
     */
    TRANSACTION_BLOCK_ONLY,
    /**
     * {@code CALL} or {@code DO}: the procedure or block may {@code COMMIT} or {@code ROLLBACK} itself, which
     * the server allows only outside a transaction block. An autocommit one alone in its string is not
     * wrapped in a transaction by dual-write: it runs leader-then-follower and counts as unordered.
     */
    TRANSACTION_CONTROL,
    /** {@code COPY ... FROM STDIN}: the client will send data, which goes to both clusters. */
    COPY_FROM_STDIN,
    /** {@code COPY ... TO STDOUT}: a read when it copies a table or a read-only query. */
    COPY_TO_STDOUT,
    /** {@code DECLARE}, {@code FETCH}, {@code MOVE}, {@code CLOSE}: a cursor must live where it is used. */
    CURSOR,
    /** Several statements in one string. PostgreSQL runs them in one implicit transaction. */
    MULTI_STATEMENT,
    /** The classifier could not read the text (unterminated quote or comment, empty, garbage). */
    UNPARSEABLE,
    /** Schema or privilege change: {@code CREATE}, {@code ALTER}, {@code DROP}, {@code TRUNCATE}, {@code GRANT} ... */
    DDL,
    /**
     * Reads the system catalogs: a relation whose name starts with {@code pg_} ({@code pg_type},
     * {@code pg_catalog.pg_class}, {@code pg_stat_activity}), {@code information_schema}, or a cast to an
     * OID alias type ({@code regclass}, {@code regtype} ...). Its answer is the serving cluster's own object
     * identifiers, which a driver caches and sends back (a type's OID in a Parse): the session remembers
     * the clusters it read, and a cluster its OIDs may not be from is sent such a Parse with the type left
     * to infer.
     */
    CATALOG
}
