package dev.bluegreen.proxy.routing;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Every function and keyword the classifier knows something about, in one place. Names are matched on
 * their last component, folded to lower case, so {@code pg_catalog.nextval(...)} and {@code "nextval"(...)}
 * count; a false match only makes a read a write, which is the safe direction.
 *
 * <p>Functions not listed are assumed not to write: a user function that writes, called from a
 * {@code SELECT}, is invisible here. Add such names through {@link Classifier#Classifier(int, Set)}.
 */
final class FunctionCatalog {

    /** Change data, sequences, server or session state, or answer from session state: never a read. */
    private static final Set<String> WRITING = Set.of(
            "nextval", "setval", "currval", "lastval",
            "set_config", "setseed", "pg_notify",
            "txid_current", "txid_current_if_assigned", "pg_current_xact_id", "pg_current_xact_id_if_assigned",
            "loread", "lowrite",
            "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
            "pg_switch_wal", "pg_promote", "pg_wal_replay_pause", "pg_wal_replay_resume",
            "pg_backup_start", "pg_backup_stop", "pg_start_backup", "pg_stop_backup",
            "pg_export_snapshot", "pg_log_backend_memory_contexts", "pg_import_system_collations",
            "pg_stat_statements_reset", "pg_file_write", "pg_file_rename", "pg_file_unlink", "pg_file_sync",
            // LISTEN lives on the leader only: only the leader can say what the session listens to
            "pg_listening_channels",
            // the session's server process is the leader's: a pid read on green, given to pg_terminate_backend,
            // would end some other session on blue
            "pg_backend_pid",
            // index and statistics maintenance (PostgreSQL 18's pg_restore_*_stats and pg_clear_*_stats too)
            "brin_summarize_new_values", "brin_summarize_range", "brin_desummarize_range", "gin_clean_pending_list",
            "pg_restore_relation_stats", "pg_restore_attribute_stats", "pg_clear_relation_stats",
            "pg_clear_attribute_stats",
            // run an arbitrary query string (read-only, which still lets it call nextval or set_config), or
            // consume a cursor: ts_stat, ts_rewrite's two-argument form and tablefunc's crosstab and connectby
            // take a query or pieces of one; xml2's xpath_table runs the one it builds read-write
            "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema", "cursor_to_xml",
            "cursor_to_xmlschema", "ts_stat", "ts_rewrite", "crosstab", "crosstab2", "crosstab3", "crosstab4",
            "connectby", "xpath_table",
            // change rows or use up OIDs: pg_surgery's, and the one that hands out an OID
            "heap_force_kill", "heap_force_freeze", "pg_nextoid",
            // well-known extensions' functions that change the schema, schedule jobs or set session state,
            // called with SELECT: run on one cluster, each would leave the other without a column, a
            // hypertable, a partition or a job. PostGIS:
            "addgeometrycolumn", "dropgeometrycolumn", "dropgeometrytable", "updategeometrysrid",
            "populate_geometry_columns", "postgis_extensions_upgrade", "enablelongtransactions",
            "disablelongtransactions", "checkauth", "addauth", "lockrow", "unlockrows",
            "addrasterconstraints", "droprasterconstraints", "addoverviewconstraints", "dropoverviewconstraints",
            "st_createoverview", "createtopology", "droptopology", "addtopogeometrycolumn",
            "droptopogeometrycolumn", "totopogeom", "topogeo_addpoint", "topogeo_addlinestring",
            "topogeo_addpolygon", "topogeo_loadgeometry", "addnode", "addedge", "addface",
            // TimescaleDB
            "create_hypertable", "create_distributed_hypertable", "add_dimension", "set_chunk_time_interval",
            "set_integer_now_func", "set_number_partitions", "add_retention_policy", "remove_retention_policy",
            "add_compression_policy", "remove_compression_policy", "add_columnstore_policy",
            "remove_columnstore_policy", "compress_chunk", "decompress_chunk", "convert_to_columnstore",
            "convert_to_rowstore", "add_continuous_aggregate_policy", "remove_continuous_aggregate_policy",
            "add_reorder_policy", "remove_reorder_policy", "reorder_chunk", "move_chunk", "drop_chunks",
            "add_job", "alter_job", "delete_job", "attach_tablespace", "detach_tablespace", "detach_tablespaces",
            "enable_chunk_skipping", "disable_chunk_skipping", "add_policies", "alter_policies", "remove_policies",
            "remove_all_policies", "timescaledb_pre_restore", "timescaledb_post_restore", "add_data_node",
            "delete_data_node", "attach_data_node", "detach_data_node", "alter_data_node",
            // pg_cron
            "schedule", "schedule_in_database", "unschedule",
            // pg_partman
            "create_parent", "create_sub_parent", "run_maintenance", "partition_data_time", "partition_data_id",
            "undo_partition", "drop_partition_time", "drop_partition_id", "create_partition_time",
            "create_partition_id", "partition_gap_fill", "reapply_privileges", "apply_constraints",
            "drop_constraints", "create_partition", "create_sub_partition", "config_cleanup", "stop_sub_partition",
            "apply_publications",
            // pg_squeeze; pg_trgm's set_limit sets pg_trgm.similarity_threshold for the session
            "squeeze_table", "start_worker", "stop_worker", "set_limit");

    /** Families: advisory locks (all of them), large objects, dblink, replication slots and origins ... */
    private static final List<String> WRITING_PREFIXES = List.of(
            "pg_advisory_", "pg_try_advisory_", "lo_", "dblink", "pg_create_", "pg_drop_", "pg_copy_",
            "pg_logical_", "pg_replication_", "pg_stat_reset");

    /** Locks held past the transaction, which a replayed twin would not hold. */
    private static final Set<String> SESSION_LOCKS = Set.of(
            "pg_advisory_lock", "pg_advisory_lock_shared", "pg_try_advisory_lock", "pg_try_advisory_lock_shared");

    /** Values that differ between runs, sessions or clusters. */
    private static final Set<String> NON_DETERMINISTIC = Set.of(
            "now", "clock_timestamp", "statement_timestamp", "transaction_timestamp", "timeofday",
            "random", "random_normal", "gen_random_uuid", "gen_random_bytes", "gen_salt",
            "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4", "uuidv4", "uuidv7",
            "nextval", "currval", "lastval", "txid_current", "pg_current_xact_id",
            "pg_backend_pid", "inet_server_addr", "inet_server_port", "pg_postmaster_start_time",
            "pg_conf_load_time", "version");

    /** SQL keywords that read the clock without parentheses. */
    private static final Set<String> NON_DETERMINISTIC_KEYWORDS = Set.of(
            "current_timestamp", "current_time", "current_date", "localtime", "localtimestamp");

    static final FunctionCatalog DEFAULT = new FunctionCatalog(Set.of());

    private final Set<String> extraWriting;

    FunctionCatalog(Set<String> extraWriting) {
        this.extraWriting = extraWriting.stream().map(FunctionCatalog::lastComponent)
                .collect(Collectors.toUnmodifiableSet());
    }

    boolean writes(String name) {
        if (WRITING.contains(name) || extraWriting.contains(name)) {
            return true;
        }
        for (String prefix : WRITING_PREFIXES) {
            if (name.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    boolean pinsSession(String name) {
        return SESSION_LOCKS.contains(name);
    }

    boolean nonDeterministic(String name) {
        return NON_DETERMINISTIC.contains(name);
    }

    boolean nonDeterministicKeyword(String word) {
        return NON_DETERMINISTIC_KEYWORDS.contains(word);
    }

    private static String lastComponent(String name) {
        String lower = Lexer.asciiLower(name.strip());
        return lower.substring(lower.lastIndexOf('.') + 1);
    }
}
