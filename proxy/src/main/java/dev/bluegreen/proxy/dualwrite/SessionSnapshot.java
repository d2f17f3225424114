package dev.bluegreen.proxy.dualwrite;

import dev.bluegreen.proxy.protocol.FrontendMessages;
import dev.bluegreen.proxy.routing.LeaderOnlyObjects;
import dev.bluegreen.proxy.routing.PreparedText;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a session that existed before dual-write began must carry to its new twin, read from the
 * leader connection itself between units (DESIGN §3) rather than tracked message by message: its
 * session-level settings and prepared statements, or the reasons it cannot be replayed at all and
 * stays pinned to the leader.
 *
 * <p>The engine runs {@link #QUERY} on the leader connection (its answer never reaches the client),
 * builds the snapshot with {@link #fromRows}, and, unless {@link #pinned()}, runs {@link #replaySql()}
 * on the twin and re-sends a {@code Parse} for each of {@link #protocolStatements()}. A pinned session's
 * {@code WITH HOLD} cursors, and its temporary tables that reach nothing beyond themselves (no trigger or
 * rule, no default drawing on a permanent sequence or on a function that is not built in) and that an
 * unqualified name finds, are named in {@link #leaderOnly()}: statements that work on them alone run on the
 * leader alone. {@link #temporaryNames()}: every temporary table, view or sequence an unqualified name finds,
 * which the twin must not find another relation by (see {@link #hiddenQuery}).
 */
public record SessionSnapshot(Map<String, String> settings, List<String> sqlPrepares,
                              List<ProtocolStatement> protocolStatements, List<String> pins,
                              String sessionAuthorization, String role, boolean listens,
                              LeaderOnlyObjects leaderOnly, List<String> temporaryNames) {

    /** A prepared statement created with the protocol's {@code Parse} (pgjdbc's {@code S_1}, …). */
    public record ProtocolStatement(String name, String sql, List<Long> parameterTypeOids) {
        public ProtocolStatement {
            parameterTypeOids = List.copyOf(parameterTypeOids);
        }

        /**
         * The parameter types as the twin can take them: a type the database defined (an enum, a domain,
         * an extension's type) has another OID on another cluster, so it is left for the twin to infer,
         * as the leader inferred it when the client left it out.
         */
        public List<Long> portableTypeOids() {
            return parameterTypeOids.stream().map(oid -> oid >= FrontendMessages.FIRST_NORMAL_OID ? 0L : oid).toList();
        }
    }

    /**
     * One row per fact: {@code kind, name, value, extra}. Works on PostgreSQL 12 and later. Startup
     * parameters (source {@code client}) are not listed: the twin logs in with the same ones. The
     * session's identity is not in {@code pg_settings} ({@code role} and {@code session_authorization}
     * are hidden there): a row of its own, quoted names, when {@code SET SESSION AUTHORIZATION} or
     * {@code SET ROLE} changed it from the login. Every function, operator and type is named with its
     * schema: the query runs in the client's session, under its {@code search_path}, where an object of the
     * same name in a schema searched before {@code pg_catalog} would otherwise be called, as the session's role.
     */
    public static final String QUERY = """
            select 'setting', name, setting, null
              from pg_catalog.pg_settings where source OPERATOR(pg_catalog.=) 'session'
            union all
            select 'identity',
                   case when session_user::pg_catalog.text OPERATOR(pg_catalog.<>)
                             (select a.usename::pg_catalog.text from pg_catalog.pg_stat_activity a
                               where a.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid())
                        then pg_catalog.quote_ident(session_user::pg_catalog.text) end,
                   case when pg_catalog.current_setting('role') OPERATOR(pg_catalog.=) 'none' then null
                        else pg_catalog.quote_ident(pg_catalog.current_setting('role')) end, null
             where pg_catalog.current_setting('role') OPERATOR(pg_catalog.<>) 'none'
                or session_user::pg_catalog.text OPERATOR(pg_catalog.<>)
                   (select a.usename::pg_catalog.text from pg_catalog.pg_stat_activity a
                     where a.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid())
            union all
            select 'listen', channel, null, null from pg_catalog.pg_listening_channels() channel
            union all
            select case when from_sql then 'prepare' else 'parse' end, name, statement,
                   pg_catalog.array_to_string(parameter_types::pg_catalog.oid[], ',')
              from pg_catalog.pg_prepared_statements
            union all
            select 'pin', 'temporary objects', pg_catalog.count(*)::pg_catalog.text, null
              from (select oid from pg_catalog.pg_class
                     where relnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema()
                    union all
                    select oid from pg_catalog.pg_proc
                     where pronamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema()
                    union all
                    select oid from pg_catalog.pg_type
                     where typnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema()
                       and typrelid OPERATOR(pg_catalog.=) 0 and typelem OPERATOR(pg_catalog.=) 0) temporary_objects
            having pg_catalog.count(*) OPERATOR(pg_catalog.>) 0
            union all
            select 'pin', 'WITH HOLD cursors', pg_catalog.count(*)::pg_catalog.text, null
              from pg_catalog.pg_cursors where is_holdable having pg_catalog.count(*) OPERATOR(pg_catalog.>) 0
            union all
            select 'temporary table', c.relname::pg_catalog.text, null, null from pg_catalog.pg_class c
             where c.relnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema()
               and c.relkind::pg_catalog.text OPERATOR(pg_catalog.=) ANY ('{r,p}'::pg_catalog.text[])
               and not c.relhastriggers and not c.relhasrules
               and pg_catalog.to_regclass(pg_catalog.quote_ident(c.relname::pg_catalog.text)) OPERATOR(pg_catalog.=) c.oid
               and not exists (
                   select 1 from pg_catalog.pg_attrdef d
                     join pg_catalog.pg_depend dep on dep.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_attrdef'::pg_catalog.regclass
                                                  and dep.objid OPERATOR(pg_catalog.=) d.oid
                    where d.adrelid OPERATOR(pg_catalog.=) c.oid
                      and ((dep.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                            and dep.refobjid OPERATOR(pg_catalog.<>) c.oid
                            and not exists (select 1 from pg_catalog.pg_class s
                                             where s.oid OPERATOR(pg_catalog.=) dep.refobjid
                                               and s.relnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema()))
                        or dep.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass))
            union all
            select 'hold cursor', name, null, null from pg_catalog.pg_cursors where is_holdable
            union all
            select 'temporary name', c.relname::pg_catalog.text, null, null from pg_catalog.pg_class c
             where c.relnamespace OPERATOR(pg_catalog.=) pg_catalog.pg_my_temp_schema()
               and c.relkind::pg_catalog.text OPERATOR(pg_catalog.=) ANY ('{r,p,v,m,f,S}'::pg_catalog.text[])
               and pg_catalog.to_regclass(pg_catalog.quote_ident(c.relname::pg_catalog.text)) OPERATOR(pg_catalog.=) c.oid
            union all
            select 'pin', 'session advisory locks', pg_catalog.count(*)::pg_catalog.text, null
              from pg_catalog.pg_locks
             where locktype OPERATOR(pg_catalog.=) 'advisory' and pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()
            having pg_catalog.count(*) OPERATOR(pg_catalog.>) 0
            """;

    /**
     * {@link #QUERY}, and the values of the custom (dotted) settings {@code customSettings} names that the
     * session holds: pg_settings lists none of them, so they can be read only by name. A name the session
     * has not set (or whose value a real setting of pg_settings gives) adds no row. {@code unfollowed}: the
     * session set some the proxy could not follow, which pins it (its twin could not be given them all).
     */
    public static String query(Collection<String> customSettings, boolean unfollowed) {
        StringBuilder sql = new StringBuilder(QUERY);
        if (!customSettings.isEmpty()) {
            List<String> names = customSettings.stream().filter(n -> n.indexOf('\0') < 0).map(SessionSnapshot::dollarQuoted).toList();
            sql.append("""
                    union all
                    select 'setting', n, pg_catalog.current_setting(n, true), null
                      from pg_catalog.unnest(array[%s]::pg_catalog.text[]) n
                     where pg_catalog.current_setting(n, true) is not null
                       and not exists (select 1 from pg_catalog.pg_settings s where s.name OPERATOR(pg_catalog.=) n)
                    """.formatted(String.join(", ", names)));
        }
        if (unfollowed) {
            sql.append("union all select 'pin', 'custom settings the proxy does not follow',")
                    .append(" 'over 64, or a name not in ASCII outside UTF-8', null\n");
        }
        return sql.toString();
    }

    /**
     * Asked of a new twin once it has the session's settings and identity ({@link #stateSql()}, so its
     * {@code search_path} and role), before any PREPARE: which of {@link #temporaryNames()} an unqualified name finds there, in
     * the twin's own catalog (another schema's table, say {@code public.staging} beside the session's temporary
     * {@code staging}, which the session's temporary table hides on the leader). The session's statements that
     * reach the twin would work on that relation instead, and unseen where the command tags agree (a
     * {@code TRUNCATE}, an {@code INSERT}): a session with any such name cannot be followed. Null when there are
     * none to ask about.
     */
    public String hiddenQuery() {
        if (temporaryNames.isEmpty()) {
            return null;
        }
        return "select n from pg_catalog.unnest(array[" + String.join(", ", temporaryNames.stream()
                .filter(n -> n.indexOf('\0') < 0).map(SessionSnapshot::dollarQuoted).toList())
                + "]::pg_catalog.text[]) n where pg_catalog.to_regclass(pg_catalog.quote_ident(n)) is not null";
    }

    public SessionSnapshot {
        temporaryNames = List.copyOf(temporaryNames);
        settings = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(settings));
        sqlPrepares = List.copyOf(sqlPrepares);
        protocolStatements = List.copyOf(protocolStatements);
        pins = List.copyOf(pins);
    }

    /** From {@link #QUERY}'s rows, each {@code {kind, name, value, extra}} as text (extra may be null). */
    public static SessionSnapshot fromRows(List<String[]> rows) {
        Map<String, String> settings = new LinkedHashMap<>();
        List<String> prepares = new ArrayList<>();
        List<ProtocolStatement> parses = new ArrayList<>();
        List<String> pins = new ArrayList<>();
        String sessionAuthorization = null;
        String role = null;
        boolean listens = false;
        List<String> temporaryRelations = new ArrayList<>();
        List<String> holdCursors = new ArrayList<>();
        List<String> temporaryNames = new ArrayList<>();
        // a PREPARE's text is read as the session reads strings, which its settings say: they come first
        boolean backslashStrings = rows.stream()
                .anyMatch(row -> row[0].equals("setting") && row[1].equals("standard_conforming_strings") && "off".equals(row[2]));
        for (String[] row : rows) {
            switch (row[0]) {
                case "setting" -> settings.put(row[1], row[2]);
                case "identity" -> {
                    sessionAuthorization = row[1];
                    role = row[2];
                }
                // the string the client sent may hold more than the PREPARE: only the PREPARE is replayed
                case "prepare" -> PreparedText.of(row[2], row[1], backslashStrings).ifPresentOrElse(prepares::add,
                        () -> pins.add("SQL prepared statement " + row[1] + " (its PREPARE could not be read, or its string prepares it more than once)"));
                case "parse" -> parses.add(new ProtocolStatement(row[1], row[2], oids(row[3])));
                case "pin" -> pins.add(row[1] + " (" + row[2] + ")");
                case "listen" -> listens = true;
                case "temporary table" -> temporaryRelations.add(row[1]);
                case "hold cursor" -> holdCursors.add(row[1]);
                case "temporary name" -> temporaryNames.add(row[1]);
                default -> throw new IllegalArgumentException("unknown snapshot row kind " + row[0]);
            }
        }
        return new SessionSnapshot(settings, prepares, parses, pins, sessionAuthorization, role, listens,
                new LeaderOnlyObjects(temporaryRelations, holdCursors), temporaryNames);
    }

    public boolean pinned() {
        return !pins.isEmpty();
    }

    /** This snapshot, pinned for {@code reason} too when {@code pin} holds. */
    public SessionSnapshot pinnedIf(boolean pin, String reason) {
        if (!pin) {
            return this;
        }
        List<String> more = new ArrayList<>(pins);
        more.add(reason);
        return new SessionSnapshot(settings, sqlPrepares, protocolStatements, more, sessionAuthorization, role, listens,
                leaderOnly, temporaryNames);
    }

    /**
     * SQL that gives a fresh connection (same startup parameters) the same identity, settings and
     * SQL-level prepared statements. Values are dollar-quoted with a tag they do not contain, so the text means
     * the same whatever {@code standard_conforming_strings} says.
     */
    public List<String> replaySql() {
        List<String> sql = new ArrayList<>(stateSql());
        sql.addAll(sqlPrepares);
        return sql;
    }

    /**
     * {@link #replaySql()} up to the SQL prepared statements: the settings and identity, under which the twin
     * then resolves names as the session does ({@link #hiddenQuery} is asked there, before a PREPARE binds them).
     */
    public List<String> stateSql() {
        List<String> sql = new ArrayList<>();
        // settings first, as the login role: some may be set only by it (a superuser's
        // session_replication_role), not by the identity the session took on later; neither SET SESSION
        // AUTHORIZATION nor SET ROLE undoes a setting
        // the encoding before the rest: the snapshot's text is in the session's, and is replayed as it is
        String encoding = settings.get("client_encoding");
        if (encoding != null) {
            sql.add(setConfig("client_encoding", encoding));
        }
        settings.forEach((name, value) -> {
            if (!name.equals("client_encoding")) {
                sql.add(setConfig(name, value));
            }
        });
        if (sessionAuthorization != null) {
            // before the role: it resets the role
            sql.add("set session authorization " + sessionAuthorization);
        }
        if (role != null) {
            sql.add("set role " + role);
        }
        return sql;
    }

    /**
     * A statement of {@link #replaySql()} as a log may show it: a setting by its name only (its value may be a
     * secret, such as a token a row-level security policy reads), anything else by its first 60 characters.
     */
    public static String describe(String replayed) {
        String setConfig = "select pg_catalog.set_config(";
        if (replayed.startsWith(setConfig)) {
            int nameEnd = replayed.indexOf("$, $", setConfig.length());
            return (nameEnd < 0 ? setConfig : replayed.substring(0, nameEnd + 1)) + ", …)";
        }
        return replayed.substring(0, Math.min(replayed.length(), 60));
    }

    private static String setConfig(String name, String value) {
        return "select pg_catalog.set_config(" + dollarQuoted(name) + ", " + dollarQuoted(value) + ", false)";
    }

    static String dollarQuoted(String value) {
        Objects.requireNonNull(value, "value");
        String tag = "bg";
        // not only "$bg$": a value ending in "$bg" runs into the closing "$bg$" and ends the string early
        for (int n = 0; value.contains("$" + tag); n++) {
            tag = "bg" + n;
        }
        return "$" + tag + "$" + value + "$" + tag + "$";
    }

    private static List<Long> oids(String joined) {
        List<Long> oids = new ArrayList<>();
        if (joined != null && !joined.isEmpty()) {
            for (String oid : joined.split(",")) {
                oids.add(Long.parseLong(oid));
            }
        }
        return oids;
    }
}
