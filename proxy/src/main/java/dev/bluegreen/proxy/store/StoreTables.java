package dev.bluegreen.proxy.store;

import dev.bluegreen.config.Cluster;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Where the {@code postgres} state store keeps its tables, so that {@code verify} leaves them out there and
 * nowhere else. The store names its tables without a schema, so they live wherever its login's search_path
 * puts them (a schema named after the role, one set with {@code ALTER ROLE … SET search_path}, or
 * {@code public}); {@link #locate} logs in as the store does and resolves the names as its statements do.
 *
 * @param server the server and database that hold them
 * @param tables each table the store uses, as the catalog spells it
 */
public record StoreTables(Server server, List<Name> tables) {

    public StoreTables {
        Objects.requireNonNull(server, "server");
        tables = List.copyOf(tables);
    }

    /** A table: its schema and its name, unquoted. */
    public record Name(String schema, String table) {}

    /**
     * A database on one server, told apart by what the server says of itself, not by the host and port a
     * configuration reaches it at, which can differ for one server (a name and an address, a pooler): its
     * system identifier (null where the role may not read it), the moment its postmaster started (a copy of
     * a cluster, such as a promoted replica, shares the identifier but not that), and the database's name.
     */
    public record Server(String systemIdentifier, long startedMicros, String database) {

        private static final String SQL = """
                select case when has_function_privilege('pg_catalog.pg_control_system()', 'execute')
                            then (select system_identifier::text from pg_catalog.pg_control_system()) end,
                       (extract(epoch from pg_catalog.pg_postmaster_start_time()) * 1000000)::bigint,
                       pg_catalog.current_database()""";

        /**
         * The same database on the same server: the system identifier counts only where both logins could
         * read it (the store's role and the check's may differ in that), the start and the name always.
         */
        public boolean sameAs(Server other) {
            return sameServerAs(other) && database.equals(other.database);
        }

        /** The same server, whichever database each login opened there. */
        public boolean sameServerAs(Server other) {
            boolean identifiers = systemIdentifier == null || other.systemIdentifier == null
                    || systemIdentifier.equals(other.systemIdentifier);
            return identifiers && startedMicros == other.startedMicros;
        }

        /** The server and database {@code connection} is logged in to. */
        public static Server of(Connection connection) throws SQLException {
            try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(SQL)) {
                rs.next();
                return new Server(rs.getString(1), rs.getLong(2), rs.getString(3));
            }
        }
    }

    /**
     * Logs in to the store's database as the store does and finds its tables; one the store has not created
     * (yet) is left out.
     *
     * @param store the {@code postgres} store's database and login
     */
    public static StoreTables locate(Cluster store, int timeoutSeconds) throws SQLException {
        try (Connection c = DriverManager.getConnection(JdbcLogin.url(store, store.database()),
                JdbcLogin.properties(store, timeoutSeconds, timeoutSeconds, "bluegreen verify"))) {
            Server server = Server.of(c);
            List<Name> tables = new ArrayList<>();
            try (PreparedStatement find = c.prepareStatement("""
                    select n.nspname, c.relname
                    from unnest(?::text[]) as t(name)
                    join pg_catalog.pg_class c on c.oid = pg_catalog.to_regclass(t.name)
                    join pg_catalog.pg_namespace n on n.oid = c.relnamespace""")) {
                find.setArray(1, c.createArrayOf("text", StateTables.NAMES.toArray()));
                try (ResultSet rs = find.executeQuery()) {
                    while (rs.next()) {
                        tables.add(new Name(rs.getString(1), rs.getString(2)));
                    }
                }
            }
            return new StoreTables(server, tables);
        }
    }
}
