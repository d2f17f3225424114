package dev.bluegreen.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.config.Cluster;
import dev.bluegreen.config.TlsMode;
import dev.bluegreen.proxy.protocol.ErrorResponse;
import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.FrameBatch;
import dev.bluegreen.proxy.protocol.Wire;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Reading a cluster's types: the answer's rows become a catalog, a read that fails or takes too long lets its waiters go
 * on (and is not tried again at once), and sessions that ask while one is under way wait for that one.
 */
class TypeCatalogsTest {

    private static final Cluster GREEN = new Cluster("green", "127.0.0.1", 5432, "app", Map.of(), TlsMode.DISABLE, null,
            null, null);

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void stopTimer() {
        timer.shutdownNow();
    }

    /** The readers asked to connect, in order: a test answers as the cluster would. */
    private final List<BackendConnection.Listener> opened = new ArrayList<>();

    private boolean read(TypeCatalogs catalogs, Runnable then) {
        return read(catalogs, "app", then);
    }

    private boolean read(TypeCatalogs catalogs, String database, Runnable then) {
        return catalogs.read(GREEN, database, listener -> {
            opened.add(listener);
            return null;
        }, timer, then);
    }

    private static FrameBatch frame(char type, ByteBuf body) {
        ByteBuf out = Unpooled.buffer();
        int lengthAt = Wire.beginMessage(out, type);
        out.writeBytes(body);
        body.release();
        return FrameBatch.of(Frame.of(Wire.endMessage(out, lengthAt)));
    }

    /** A query's CommandComplete. */
    private static FrameBatch selected() {
        return frame('C', Unpooled.buffer().writeBytes("SELECT 1\0".getBytes()));
    }

    /** What a query that ran into the role's {@code statement_timeout} is answered with. */
    private static FrameBatch statementTimeout() {
        return frame('E', Unpooled.buffer().writeByte('S').writeBytes("ERROR\0".getBytes())
                .writeByte('C').writeBytes("57014\0".getBytes()).writeByte('M')
                .writeBytes("canceling statement due to statement timeout\0".getBytes()).writeByte(0));
    }

    private static FrameBatch row(String... values) {
        ByteBuf body = Unpooled.buffer().writeShort(values.length);
        for (String value : values) {
            byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
            body.writeInt(bytes.length).writeBytes(bytes);
        }
        return frame('D', body);
    }

    @Test
    void theAnswersRowsMakeTheCatalogAndItsWaitersGoOn() {
        TypeCatalogs catalogs = new TypeCatalogs(UnpooledByteBufAllocator.DEFAULT, Duration.ofSeconds(10));
        AtomicInteger told = new AtomicInteger();
        assertThat(read(catalogs, told::incrementAndGet)).isTrue();
        assertThat(read(catalogs, told::incrementAndGet)).as("a second session waits for the same read").isTrue();
        assertThat(opened).hasSize(1);

        BackendConnection.Listener reader = opened.get(0);
        reader.backendFrames(null, row("130023"));
        reader.backendFrames(null, row("23", "pg_catalog.int4", "N"));
        reader.backendFrames(null, row("16390", "public.mood", "E"));
        reader.backendFrames(null, row("16389", "public._mood", "A"));
        assertThat(told).hasValue(0);
        reader.backendFrames(null, frame('Z', Unpooled.buffer().writeByte('I')));

        assertThat(told).hasValue(2);
        TypeCatalogs.Catalog catalog = catalogs.latest(GREEN, "app");
        assertThat(catalog.checksBinaryTypeOids()).as("PostgreSQL 13").isTrue();
        assertThat(catalog.byName()).containsEntry("public.mood", 16390L).containsEntry("public._mood", 16389L);
        assertThat(catalog.byOid().get(16389L).category()).isEqualTo('A');
        assertThat(catalog.fresh()).isTrue();
        SequenceDraws.catalogChanged();
        assertThat(catalog.fresh()).as("after DDL through the proxy").isFalse();
    }

    /** Two catalogs read (here two databases of one cluster, as the answers of blue's and green's would be). */
    @Test
    void aRelationsColumnsAreFoundOnTheOtherClusterByTheirNames() {
        TypeCatalogs catalogs = new TypeCatalogs(UnpooledByteBufAllocator.DEFAULT, Duration.ofSeconds(10));
        read(catalogs, "app", () -> { });
        read(catalogs, "other", () -> { });
        BackendConnection.Listener source = opened.get(0);
        source.backendFrames(null, row("160001"));
        source.backendFrames(null, row("16500", "public.orders", "1", "id"));
        source.backendFrames(null, row("16500", "public.orders", "3", "label")); // (its column 2 was dropped)
        source.backendFrames(null, row("16510", "public.archived", "1", "id"));
        source.backendFrames(null, row("16600", "public.bump(pg_catalog.int4)"));
        source.backendFrames(null, row("16601", "public.bump(pg_catalog.int8)"));
        source.backendFrames(null, frame('Z', Unpooled.buffer().writeByte('I')));
        BackendConnection.Listener target = opened.get(1);
        target.backendFrames(null, row("180001"));
        target.backendFrames(null, row("17000", "public.orders", "1", "id"));
        target.backendFrames(null, row("17000", "public.orders", "2", "label"));
        target.backendFrames(null, row("17600", "public.bump(pg_catalog.int4)"));
        target.backendFrames(null, frame('Z', Unpooled.buffer().writeByte('I')));

        var types = TypeCatalogs.between(catalogs.latest(GREEN, "app"), catalogs.latest(GREEN, "other"));
        assertThat(types.columnCounterpart(16_500, 3)).isEqualTo(17_000L << 16 | 2);
        assertThat(types.columnCounterpart(16_500, 1)).isEqualTo(17_000L << 16 | 1);
        assertThat(types.columnCounterpart(16_510, 1)).as("a relation the other lacks").isZero();
        assertThat(types.columnCounterpart(16_500, -1)).as("ctid").isEqualTo(17_000L << 16 | 0xFFFF);
        assertThat(types.columnCounterpart(16_500, 0)).as("the whole row").isEqualTo(17_000L << 16);
        assertThat(types.columnCounterpart(16_500, 4)).as("a column made since").isEqualTo(-1);
        assertThat(types.columnCounterpart(16_999, 1)).as("a relation made since").isEqualTo(-1);
        assertThat(types.columnCounterpart(1259, 1)).as("not listed").isEqualTo(-1);
        assertThat(types.functionCounterpart(16_600)).isEqualTo(17_600);
        assertThat(types.functionCounterpart(16_601)).as("an overload the other lacks").isEqualTo(-1);
        assertThat(types.functionCounterpart(16_999)).as("a function made since").isEqualTo(-1);
        assertThat(types.functionCounterpart(1_299)).as("a built-in function").isEqualTo(1_299);
        assertThat(TypeCatalogs.between(catalogs.latest(GREEN, "other"), catalogs.latest(GREEN, "app"))
                .columnCounterpart(17_000, 2)).isEqualTo(16_500L << 16 | 3);
    }

    @Test
    void answersNamingWhatTheCatalogsLackHaveThemReadAgainAtOnceThenNoSoonerThanFiveSeconds() {
        TypeCatalogs catalogs = new TypeCatalogs(UnpooledByteBufAllocator.DEFAULT, Duration.ofSeconds(10));
        assertThat(catalogs.rereadForAnswers(GREEN, "app")).isTrue();
        assertThat(catalogs.rereadForAnswers(GREEN, "app")).as("at once again").isFalse();
        assertThat(catalogs.rereadForAnswers(GREEN, "other")).as("another database").isTrue();
    }

    /** A read begun, answered with the server's version and one type, each query's rows complete. */
    private BackendConnection.Listener answeredWithAType(TypeCatalogs catalogs) {
        read(catalogs, () -> { });
        BackendConnection.Listener reader = opened.get(0);
        reader.backendFrames(null, row("160001"));
        reader.backendFrames(null, selected());
        reader.backendFrames(null, row("16390", "public.mood", "E"));
        reader.backendFrames(null, selected());
        return reader;
    }

    @Test
    void aRelationsQueryThatFailsLeavesTheTypes() {
        TypeCatalogs catalogs = new TypeCatalogs(UnpooledByteBufAllocator.DEFAULT, Duration.ofSeconds(10));
        BackendConnection.Listener reader = answeredWithAType(catalogs);
        reader.backendFrames(null, statementTimeout());
        reader.backendFrames(null, frame('Z', Unpooled.buffer().writeByte('I')));

        TypeCatalogs.Catalog catalog = catalogs.latest(GREEN, "app");
        assertThat(catalog.byName()).containsEntry("public.mood", 16390L);
        assertThat(catalog.relations()).isNull();
        assertThat(catalog.functions()).as("not read after the relations failed").isNull();
        assertThat(TypeCatalogs.between(catalog, catalog).columnCounterpart(16_500, 1)).as("no tables named").isZero();
    }

    @Test
    void aFunctionsQueryThatFailsLeavesTheTypesAndRelations() {
        TypeCatalogs catalogs = new TypeCatalogs(UnpooledByteBufAllocator.DEFAULT, Duration.ofSeconds(10));
        BackendConnection.Listener reader = answeredWithAType(catalogs);
        reader.backendFrames(null, row("16500", "public.orders", "1", "id"));
        reader.backendFrames(null, selected());
        reader.backendFrames(null, row("16600", "public.bump(pg_catalog.int4)"));
        reader.backendFrames(null, statementTimeout());
        reader.backendFrames(null, frame('Z', Unpooled.buffer().writeByte('I')));

        TypeCatalogs.Catalog catalog = catalogs.latest(GREEN, "app");
        assertThat(catalog.byName()).containsEntry("public.mood", 16390L);
        assertThat(catalog.relationsByName()).containsEntry("public.orders", 16500L);
        assertThat(catalog.functions()).isNull();
        assertThat(TypeCatalogs.between(catalog, catalog).functionCounterpart(16_600)).as("called unchanged")
                .isEqualTo(-1);
    }

    @Test
    void aReadThatFailsLetsItsWaitersGoOnAndIsNotTriedAgainAtOnce() {
        TypeCatalogs catalogs = new TypeCatalogs(UnpooledByteBufAllocator.DEFAULT, Duration.ofSeconds(10));
        AtomicInteger told = new AtomicInteger();
        assertThat(read(catalogs, told::incrementAndGet)).isTrue();
        opened.get(0).backendFrames(null, frame('E', Unpooled.buffer().writeByte('S').writeBytes("ERROR\0".getBytes())
                .writeByte('C').writeBytes("42501\0".getBytes()).writeByte('M').writeBytes("permission denied\0".getBytes())
                .writeByte(0)));
        opened.get(0).backendFrames(null, frame('Z', Unpooled.buffer().writeByte('I')));

        assertThat(told).hasValue(1);
        assertThat(catalogs.latest(GREEN, "app")).isNull();
        assertThat(read(catalogs, told::incrementAndGet)).as("tried again only after a while").isFalse();
        assertThat(opened).hasSize(1);
    }

    @Test
    void aLoginThatFailsLetsItsWaitersGoOn() {
        TypeCatalogs catalogs = new TypeCatalogs(UnpooledByteBufAllocator.DEFAULT, Duration.ofSeconds(10));
        AtomicInteger told = new AtomicInteger();
        read(catalogs, told::incrementAndGet);
        opened.get(0).backendStartupFailed(null, ErrorResponse.fatal("28P01", "password authentication failed"));
        assertThat(told).hasValue(1);
        assertThat(catalogs.latest(GREEN, "app")).isNull();
    }

    @Test
    void aReadThatTakesTooLongIsGivenUp() {
        TypeCatalogs catalogs = new TypeCatalogs(UnpooledByteBufAllocator.DEFAULT, Duration.ZERO, Duration.ofMillis(100));
        AtomicInteger told = new AtomicInteger();
        read(catalogs, told::incrementAndGet);
        opened.get(0).backendFrames(null, row("160001"));

        await().atMost(Duration.ofSeconds(5)).until(() -> told.get() == 1);
        assertThat(catalogs.latest(GREEN, "app")).isNull();
        // what comes after it is too late: nothing more happens
        opened.get(0).backendFrames(null, frame('Z', Unpooled.buffer().writeByte('I')));
        assertThat(told).hasValue(1);
        assertThat(catalogs.latest(GREEN, "app")).isNull();
    }
}
