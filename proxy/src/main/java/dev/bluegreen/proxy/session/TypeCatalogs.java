package dev.bluegreen.proxy.session;

import dev.bluegreen.config.Cluster;
import dev.bluegreen.proxy.protocol.ErrorResponse;
import dev.bluegreen.proxy.protocol.FrameBatch;
import dev.bluegreen.proxy.protocol.FramePart;
import dev.bluegreen.proxy.protocol.FrontendMessages;
import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.TypeOidTranslation;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Each cluster's types, per database, as the proxy needs them to give one cluster's copy of a client's message that
 * cluster's type OIDs ({@link TypeOidTranslation}): a client learns an enum's or a composite's OID from one cluster's
 * catalog, names it in a Parse and puts it inside the binary arrays and records it binds, and the other cluster gave
 * that type another OID. The other way, an answer the other cluster serves is given the client's OIDs, and names its
 * columns by the client's cluster's relations and column numbers ({@link TypeOidTranslation#answer}).
 *
 * <p>Shared by every session. A database's catalog is read when a session first needs it, on a connection of its own
 * that logs in as that session does, and read again when it may be stale: after DDL through the proxy
 * ({@link SequenceDraws#catalogVersion}, counted as the DDL begins and as its transaction ends), or when a message names a
 * type the catalog lacks and it is older than {@link #REREAD_AFTER_NANOS} (a type made on the clusters directly), as
 * when an answer names a type or relation it lacks ({@link ClientSession#answered}); which of those reads a unit waits
 * for, {@link ClientSession#awaitsTypeCatalogs} decides. A
 * catalog that could not be read is tried again after as long; meanwhile messages go unchanged, as they did before this
 * existed. The read also says the server's version: PostgreSQL 14 and later take a binary array's or record's OIDs of
 * database-defined types for whatever the column's type is ({@link Catalog#checksBinaryTypeOids}).
 */
final class TypeCatalogs {

    private static final Logger log = LoggerFactory.getLogger(TypeCatalogs.class);

    /**
     * The server's version; every type but those of other sessions' temporary schemas: its OID, its name as a cast would
     * spell it, and its category ('A' array, 'C' composite; a domain has its base type's), built-in types too (a value
     * is read as an array or record only where each OID in it is a type); and each column of the relations the
     * database defined that a result's column can come from (tables, views, materialized views, foreign tables), by the
     * relation's OID and name and the column's number and name, as a RowDescription names a result's column (sequences
     * too: they read as one-row tables), no more than one past {@link #MAX_COLUMNS} of them; and each plain function
     * the database defined that returns one value (what a FunctionCall may call), by its OID and its schema, name and
     * argument types' schemas and names, as a FunctionCall names the function it calls, no more than one past
     * {@link #MAX_FUNCTIONS}.
     */
    static final String QUERY = """
            select pg_catalog.current_setting('server_version_num');
            select t.oid, pg_catalog.format('%I.%I', n.nspname, t.typname), t.typcategory
              from pg_catalog.pg_type t join pg_catalog.pg_namespace n on n.oid OPERATOR(pg_catalog.=) t.typnamespace
             where n.nspname NOT LIKE 'pg\\_temp\\_%' and n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%';
            select c.oid, pg_catalog.format('%I.%I', n.nspname, c.relname), a.attnum, a.attname
              from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid OPERATOR(pg_catalog.=) c.relnamespace
              join pg_catalog.pg_attribute a on a.attrelid OPERATOR(pg_catalog.=) c.oid
             where c.oid OPERATOR(pg_catalog.>=) 16384 and c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,v,m,f,S}')
               and a.attnum OPERATOR(pg_catalog.>) 0 and not a.attisdropped
               and n.nspname NOT LIKE 'pg\\_temp\\_%' and n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
             order by c.oid, a.attnum limit 500001;
            select p.oid, pg_catalog.format('%I.%I(%s)', n.nspname, p.proname,
                   (select pg_catalog.string_agg(pg_catalog.format('%I.%I', tn.nspname, t.typname), ',' order by a.at)
                      from pg_catalog.unnest(p.proargtypes) with ordinality a(type, at)
                      join pg_catalog.pg_type t on t.oid OPERATOR(pg_catalog.=) a.type
                      join pg_catalog.pg_namespace tn on tn.oid OPERATOR(pg_catalog.=) t.typnamespace))
              from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid OPERATOR(pg_catalog.=) p.pronamespace
             where p.oid OPERATOR(pg_catalog.>=) 16384 and p.prokind OPERATOR(pg_catalog.=) 'f' and not p.proretset
               and n.nspname NOT LIKE 'pg\\_temp\\_%'
             limit 100001""";
    /** A type a message names that a catalog older than this lacks is looked for again (a read waited for). */
    static final long REREAD_AFTER_NANOS = TimeUnit.SECONDS.toNanos(5);
    /** The longest {@link #rereadForAnswers} waits between reads while answers keep naming what a read did not find. */
    static final long ANSWER_REREAD_MAX_NANOS = TimeUnit.MINUTES.toNanos(5);
    /** A database with more types than this (tables have two each) gets no catalog: its values go unchanged. */
    private static final int MAX_TYPES = 500_000;
    /**
     * A database whose relations have more columns than this gets no relations in its catalog: the results the other
     * cluster serves name no tables (0), as a computed column.
     */
    private static final int MAX_COLUMNS = 500_000;
    /** A database with more functions than this gets none in its catalog: its function calls go unchanged. */
    private static final int MAX_FUNCTIONS = 100_000;
    /** A relation with more columns than this finds them by name through a map of its own, not by looking through. */
    private static final int SCANNED_COLUMNS = 32;

    /** How long a read may take once logged in; one that takes longer is given up, as one that failed. */
    private static final long READ_DEADLINE_MILLIS = 10_000;
    /** PostgreSQL 14 (server_version_num), from which binary arrays and records may carry other OIDs of such types. */
    private static final int LENIENT_FROM = 140_000;

    /**
     * One database's types on one cluster, its relations' columns (null where there were more than
     * {@link #MAX_COLUMNS}, or they could not be read), its functions' names by OID and the other way (null where
     * there were more than {@link #MAX_FUNCTIONS}, or they could not be read), and the cluster's version.
     */
    record Catalog(Map<Long, Type> byOid, Map<String, Long> byName, Map<Long, Relation> relations,
                   Map<String, Long> relationsByName, Map<Long, String> functions, Map<String, Long> functionsByName,
                   int serverVersion, long version, long readNanos) {

        record Type(String name, char category) {}

        /**
         * A relation's name as a cast would spell it, its columns' names by number (index 0 column 1; null dropped), and
         * for a wide one their numbers by name (null for one of up to {@link #SCANNED_COLUMNS}).
         */
        record Relation(String name, String[] columns, Map<String, Integer> numbers) {

            static Relation of(String name, String[] columns) {
                Map<String, Integer> numbers = null;
                if (columns.length > SCANNED_COLUMNS) {
                    numbers = new HashMap<>();
                    for (int i = 0; i < columns.length; i++) {
                        if (columns[i] != null) {
                            numbers.put(columns[i], i + 1);
                        }
                    }
                }
                return new Relation(name, columns, numbers);
            }

            /** The number of the column named {@code column}, or 0 where there is none. */
            int number(String column) {
                if (numbers != null) {
                    return numbers.getOrDefault(column, 0);
                }
                for (int i = 0; i < columns.length; i++) {
                    if (column.equals(columns[i])) {
                        return i + 1;
                    }
                }
                return 0;
            }

            /** The name of column {@code number}, or null where there is none. */
            String column(int number) {
                return number > 0 && number <= columns.length ? columns[number - 1] : null;
            }
        }

        /** No DDL has been run through the proxy since the read began. */
        boolean fresh() {
            return version == SequenceDraws.catalogVersion();
        }

        /**
         * Whether the server refuses a binary array or record whose OID of a database-defined type is not the column's
         * type's: before PostgreSQL 14 ({@code wrong element type}, 42804); later ones read the value as the column's.
         */
        boolean checksBinaryTypeOids() {
            return serverVersion < LENIENT_FROM;
        }

        boolean oldEnoughToReread() {
            return System.nanoTime() - readNanos > REREAD_AFTER_NANOS;
        }
    }

    /** {@code from}'s types, and their OIDs on {@code to}. */
    static TypeOidTranslation.Types between(Catalog from, Catalog to) {
        return new TypeOidTranslation.Types() {
            @Override
            public char category(long oid) {
                Catalog.Type type = from.byOid().get(oid);
                return type == null ? 0 : type.category();
            }

            @Override
            public long counterpart(long oid) {
                if (oid < FrontendMessages.FIRST_NORMAL_OID) {
                    return oid;
                }
                Catalog.Type type = from.byOid().get(oid);
                Long there = type == null ? null : to.byName().get(type.name());
                return there == null ? -1 : there;
            }

            @Override
            public long functionCounterpart(long oid) {
                if (oid < FrontendMessages.FIRST_NORMAL_OID) {
                    return oid;
                }
                String name = from.functions() == null ? null : from.functions().get(oid);
                Long there = name == null || to.functionsByName() == null ? null : to.functionsByName().get(name);
                return there == null ? -1 : there;
            }

            @Override
            public long columnCounterpart(long table, int column) {
                if (from.relations() == null || to.relations() == null) {
                    return 0; // (a database of more columns than are read, or whose relations could not be read)
                }
                Catalog.Relation relation = from.relations().get(table);
                String name = relation == null || column <= 0 ? null : relation.column(column);
                if (relation == null || (column > 0 && name == null)) {
                    return -1; // (made since the catalog was read, or of a kind it does not list, as a TOAST table)
                }
                Long thereOid = to.relationsByName().get(relation.name());
                Catalog.Relation there = thereOid == null ? null : to.relations().get(thereOid);
                // a system column's number, and a whole row's (0), are the same on every cluster
                int number = there == null ? 0 : column <= 0 ? column : there.number(name);
                return there == null || number == 0 && column > 0 ? 0 : thereOid << 16 | (number & 0xFFFF);
            }
        };
    }

    /** What is known of one cluster's database: the catalog last read, and who waits for the one being read. */
    private static final class Slot {
        Catalog catalog;
        List<Runnable> waiting;
        long failedNanos;
        boolean failed;
    }

    private final Map<String, Slot> slots = new ConcurrentHashMap<>();
    /** Per answering cluster's database: when answers last had the catalogs read again, and the wait after that. */
    private final Map<String, long[]> answerRereads = new ConcurrentHashMap<>();
    private final ByteBufAllocator alloc;
    /** How long a login may take ({@code timeouts.startup}): a read's deadline counts from before it. */
    private final long loginMillis;
    /** How long the read may take once logged in. */
    private final long readMillis;

    TypeCatalogs(ByteBufAllocator alloc, Duration login) {
        this(alloc, login, Duration.ofMillis(READ_DEADLINE_MILLIS));
    }

    /** With another time for the read itself: for tests of the deadline. */
    TypeCatalogs(ByteBufAllocator alloc, Duration login, Duration read) {
        this.alloc = alloc;
        this.loginMillis = login.toMillis();
        this.readMillis = read.toMillis();
    }

    /**
     * The catalog of {@code database} on {@code cluster} last read, stale or not ({@link Catalog#fresh}); null where none
     * has been.
     */
    Catalog latest(Cluster cluster, String database) {
        Slot slot = slots.get(key(cluster, database));
        if (slot == null) {
            return null;
        }
        synchronized (slot) {
            return slot.catalog;
        }
    }

    /**
     * Reads {@code database}'s catalog on {@code cluster} again unless one is being read, and runs {@code then} once
     * it has been (on the reading connection's event loop), whether it could be read or not. False, and nothing to
     * wait for, where a read failed within {@link #REREAD_AFTER_NANOS}.
     *
     * @param open  opens a connection to the cluster's database that reports to the listener it is given
     * @param timer where the read's deadline is kept: the opening session's event loop
     */
    boolean read(Cluster cluster, String database, Function<BackendConnection.Listener, BackendConnection> open,
                 ScheduledExecutorService timer, Runnable then) {
        Slot slot = slots.computeIfAbsent(key(cluster, database), key -> new Slot());
        synchronized (slot) {
            if (slot.waiting != null) {
                slot.waiting.add(then);
                return true;
            }
            if (slot.failed && System.nanoTime() - slot.failedNanos < REREAD_AFTER_NANOS) {
                return false;
            }
            slot.waiting = new ArrayList<>(List.of(then));
        }
        Reader reader = new Reader(alloc, slot, cluster.name() + "/" + database, SequenceDraws.catalogVersion());
        try {
            reader.deadline = timer.schedule(reader::overdue, loginMillis + readMillis, TimeUnit.MILLISECONDS);
            reader.connection = open.apply(reader);
        } catch (RuntimeException e) { // an event loop shutting down
            reader.finish(null, "could not open a connection: " + e);
        }
        return true;
    }

    /**
     * Whether both clusters' catalogs are to be read again because an answer {@code cluster} gave named a type, relation
     * or column its catalog, as read, lacks: at once the first time, then no sooner than {@link #REREAD_AFTER_NANOS}
     * after the last such read, that wait doubling up to {@link #ANSWER_REREAD_MAX_NANOS} while answers keep naming
     * what the reads do not find (a relation no read lists, such as a TOAST table read directly), and starting again
     * at the shortest after a quiet spell of twice the wait.
     */
    boolean rereadForAnswers(Cluster cluster, String database) {
        long now = System.nanoTime();
        long[] last = answerRereads.computeIfAbsent(key(cluster, database),
                key -> new long[] {now - 2 * ANSWER_REREAD_MAX_NANOS - 1, REREAD_AFTER_NANOS});
        synchronized (last) {
            long since = now - last[0];
            if (since < last[1]) {
                return false;
            }
            last[1] = since > 2 * last[1] ? REREAD_AFTER_NANOS : Math.min(2 * last[1], ANSWER_REREAD_MAX_NANOS);
            last[0] = now;
            return true;
        }
    }

    private static String key(Cluster cluster, String database) {
        return cluster.name() + '\u0000' + database;
    }

    /** Reads one catalog on a connection it closes after: four queries' rows, their ReadyForQuery. */
    private static final class Reader implements BackendConnection.Listener {
        private final ByteBufAllocator alloc;
        private final Slot slot;
        private final String what;
        private final long version;
        private final Map<Long, Catalog.Type> byOid = new HashMap<>();
        private final Map<String, Long> byName = new HashMap<>();
        /** Null once there were more than {@link #MAX_COLUMNS}. */
        private Map<Long, Catalog.Relation> relations = new HashMap<>();
        private final Map<String, Long> relationsByName = new HashMap<>();
        /** The relation whose columns the last rows were, and those columns so far (the rows come in its order). */
        private long relation = -1;
        private String relationName;
        private final List<String> columns = new ArrayList<>();
        private int columnCount;
        /** Null once there were more than {@link #MAX_FUNCTIONS}. */
        private Map<Long, String> functions = new HashMap<>();
        private final Map<String, Long> functionsByName = new HashMap<>();
        /**
         * CommandCompletes so far: an error after the types' query leaves the relations (and the functions, which are
         * not read then) or the functions out, not the catalog.
         */
        private int completed;
        private int serverVersion;
        private String problem;
        private boolean done;
        /** Set once opened; the deadline runs on the same event loop as the connection's events. */
        BackendConnection connection;
        ScheduledFuture<?> deadline;

        Reader(ByteBufAllocator alloc, Slot slot, String what, long version) {
            this.alloc = alloc;
            this.slot = slot;
            this.what = what;
            this.version = version;
        }

        @Override
        public void backendReady(BackendConnection backend, List<Frame> startupFrames, Frame readyForQuery) {
            startupFrames.forEach(Frame::release);
            readyForQuery.release();
            backend.write(FrontendMessages.query(alloc, QUERY));
            backend.flush();
        }

        @Override
        public void backendStartupFailed(BackendConnection backend, ErrorResponse error) {
            finish(backend, "could not log in: " + error.message());
        }

        @Override
        public void backendFrames(BackendConnection backend, FrameBatch frames) {
            try {
                ByteBuf all = frames.content();
                frames.forEach((type, offset, length) -> {
                    switch (type) {
                        case 'D' -> row(all, offset + Frame.HEADER_LENGTH);
                        case 'C' -> completed++;
                        case 'E' -> {
                            String message = ErrorResponse.decode(Frame.of(all.slice(offset, length))).message();
                            if (completed >= 2 && problem == null) {
                                log.info("could not read the {} of {}: {}; the results the other cluster serves"
                                        + " name no tables, or its function calls go unchanged",
                                        completed == 2 ? "relations" : "functions", what, message);
                                if (completed == 2) {
                                    withoutRelations();
                                }
                                functions = null;
                            } else {
                                problem = "the query failed: " + message;
                            }
                        }
                        case 'Z' -> finish(backend, problem != null ? problem : serverVersion == 0 ? "no server version" : null);
                        default -> { }
                    }
                    return !done;
                });
            } finally {
                frames.release();
            }
        }

        /**
         * A row of any query: the server's version (one column), a function (two), a type (three), or a relation's
         * column (four).
         */
        private void row(ByteBuf all, int at) {
            int count = all.getUnsignedShort(at);
            if (problem != null || count == 0 || count > 4) {
                problem = problem != null ? problem : "a row of another shape";
                return;
            }
            if (count == 3 && byOid.size() >= MAX_TYPES) {
                problem = "more than " + MAX_TYPES + " types";
                return;
            }
            if ((count == 4 && relations == null) || (count == 2 && functions == null)) {
                return;
            }
            at += 2;
            String[] values = new String[count];
            for (int i = 0; i < count; i++) {
                int length = all.getInt(at);
                at += 4;
                values[i] = length < 0 ? "" : all.toString(at, length, StandardCharsets.UTF_8);
                at += Math.max(length, 0);
            }
            try {
                if (count == 1) {
                    serverVersion = Integer.parseInt(values[0]);
                    return;
                }
                if (count == 4) {
                    column(Long.parseLong(values[0]), values[1], Integer.parseInt(values[2]), values[3]);
                    return;
                }
                if (count == 2) {
                    if (functions.size() >= MAX_FUNCTIONS) {
                        log.info("{} has more than {} functions: calls of them go unchanged", what, MAX_FUNCTIONS);
                        functions = null;
                        functionsByName.clear();
                        return;
                    }
                    long oid = Long.parseLong(values[0]);
                    functions.put(oid, values[1]);
                    functionsByName.put(values[1], oid);
                    return;
                }
                long oid = Long.parseLong(values[0]);
                byOid.put(oid, new Catalog.Type(values[1], values[2].isEmpty() ? '?' : values[2].charAt(0)));
                byName.put(values[1], oid);
            } catch (NumberFormatException e) {
                problem = "a number that does not read as one: " + e.getMessage();
            }
        }

        /** Column {@code number} of relation {@code oid}: the rows of one relation come together, by number. */
        private void column(long oid, String name, int number, String column) {
            if (oid != relation) {
                relationRead();
                relation = oid;
                relationName = name;
            }
            if (++columnCount > MAX_COLUMNS) {
                log.info("{} has more than {} columns: the results the other cluster serves name no tables", what,
                        MAX_COLUMNS);
                withoutRelations();
                return;
            }
            while (columns.size() < number - 1) {
                columns.add(null); // a dropped column
            }
            columns.add(column);
        }

        /** The relations are left out of the catalog: its types are still read. */
        private void withoutRelations() {
            relations = null;
            relationsByName.clear();
            columns.clear();
        }

        /** The relation whose columns the rows so far were is complete. */
        private void relationRead() {
            if (relation >= 0 && relations != null) {
                relations.put(relation, Catalog.Relation.of(relationName, columns.toArray(String[]::new)));
                relationsByName.put(relationName, relation);
            }
            columns.clear();
        }

        /** The deadline passed: the read is given up, its connection dropped. */
        void overdue() {
            finish(connection, "no answer in time");
        }

        void finish(BackendConnection backend, String failure) {
            if (done) {
                return;
            }
            done = true;
            if (deadline != null) {
                deadline.cancel(false);
            }
            if (backend != null) {
                if (failure == null) {
                    backend.close();
                } else {
                    backend.abandon();
                }
            }
            List<Runnable> waiting;
            synchronized (slot) {
                if (failure == null) {
                    relationRead();
                    slot.catalog = new Catalog(Map.copyOf(byOid), Map.copyOf(byName),
                            relations == null ? null : Map.copyOf(relations),
                            relations == null ? null : Map.copyOf(relationsByName),
                            functions == null ? null : Map.copyOf(functions),
                            functions == null ? null : Map.copyOf(functionsByName), serverVersion, version, System.nanoTime());
                    slot.failed = false;
                } else {
                    slot.failed = true;
                    slot.failedNanos = System.nanoTime();
                }
                waiting = slot.waiting;
                slot.waiting = null;
            }
            if (failure == null) {
                log.debug("read the types of {}: {}, {} relations and {} functions", what, byOid.size(),
                        relations == null ? "no" : relations.size(), functions == null ? "no" : functions.size());
            } else {
                log.warn("could not read the types of {}: {}; messages naming types the database defined go to the other"
                        + " cluster with this one's OIDs until they can be read", what, failure);
            }
            for (Runnable waiter : waiting) {
                try {
                    waiter.run();
                } catch (RuntimeException e) { // (a session's event loop shutting down): the others still hear
                    log.debug("a session waiting for the types of {} could not be told: {}", what, e.toString());
                }
            }
        }

        @Override
        public boolean relaysInParts(BackendConnection backend) {
            return false;
        }

        @Override
        public void backendPart(BackendConnection backend, FramePart part) {
            part.release();
        }

        @Override
        public void backendReadComplete(BackendConnection backend) { }

        @Override
        public void backendWritabilityChanged(BackendConnection backend, boolean writable) { }

        @Override
        public void backendLost(BackendConnection backend, String reason) {
            finish(backend, "the connection was lost: " + reason);
        }
    }
}
