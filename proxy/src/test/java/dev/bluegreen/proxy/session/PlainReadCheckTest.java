package dev.bluegreen.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.routing.Classifier;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which messages of an idle relayed session may pass a closing write barrier: a plain read and nothing else. */
class PlainReadCheckTest {

    private static final Classifier CLASSIFIER = new Classifier(100);

    private static boolean passes(ByteBuf... messages) {
        List<Frame> frames = new ArrayList<>();
        for (ByteBuf message : messages) {
            frames.add(Frame.of(message));
        }
        try {
            return PlainReadCheck.of(frames, new SqlReading(), CLASSIFIER);
        } finally {
            frames.forEach(Frame::release);
        }
    }

    /** The strings, each ended by a zero byte, as a message body begins. */
    private static ByteBuf body(String... strings) {
        ByteBuf body = Unpooled.buffer();
        for (String s : strings) {
            body.writeCharSequence(s, StandardCharsets.UTF_8);
            body.writeByte(0);
        }
        return body;
    }

    private static ByteBuf message(char type, String... strings) {
        return wrap(type, body(strings));
    }

    private static ByteBuf wrap(char type, ByteBuf body) {
        ByteBuf frame = Unpooled.buffer().writeByte(type).writeInt(body.readableBytes() + 4).writeBytes(body);
        body.release();
        return frame;
    }

    private static ByteBuf query(String sql) {
        return message('Q', sql);
    }

    private static ByteBuf parse(String name, String sql) {
        return wrap('P', body(name, sql).writeShort(0)); // no parameter types
    }

    private static ByteBuf bind(String portal, String statement) {
        return wrap('B', body(portal, statement).writeShort(0).writeShort(0).writeShort(0)); // no formats, values
    }

    private static ByteBuf execute(String portal) {
        return wrap('E', body(portal).writeInt(0)); // no row limit
    }

    private static ByteBuf describePortal() {
        return wrap('D', Unpooled.buffer().writeByte('P').writeByte(0));
    }

    private static ByteBuf sync() {
        return wrap('S', Unpooled.buffer());
    }

    @Test
    void simpleQueriesThatOnlyReadPass() {
        assertThat(passes(query("select 1"))).isTrue();
        assertThat(passes(query("select 1"), query("select * from t"))).isTrue();
    }

    @Test
    void anythingThatMayWriteOrLeaveStateBehindWaits() {
        assertThat(passes(query("insert into t values (1)"))).isFalse();
        assertThat(passes(query("select 1"), query("delete from t"))).as("a write behind a read").isFalse();
        assertThat(passes(query("begin read only"))).as("opens a transaction").isFalse();
        assertThat(passes(query("set search_path = app"))).isFalse();
        assertThat(passes(query("declare c cursor with hold for select 1"))).isFalse();
        assertThat(passes(query("listen a"))).isFalse();
        assertThat(passes(query("select * from t for update"))).isFalse();
        assertThat(passes(message('X'))).as("a Terminate").isFalse();
    }

    @Test
    void oneUnnamedExtendedReadEndedByASyncPasses() {
        assertThat(passes(parse("", "select 1"), bind("", ""), describePortal(), execute(""), sync())).isTrue();
        assertThat(passes(parse("", "select 1"), bind("", ""), execute(""), sync())).isTrue();
    }

    @Test
    void extendedUnitsTheRelayCannotReadWholeWait() {
        assertThat(passes(parse("", "update t set v = 1"), bind("", ""), execute(""), sync())).isFalse();
        assertThat(passes(parse("s1", "select 1"), bind("", "s1"), execute(""), sync())).as("a named statement").isFalse();
        assertThat(passes(bind("", ""), execute(""), sync())).as("a Bind of a statement parsed before").isFalse();
        assertThat(passes(parse("", "select 1"), bind("p", ""), execute("p"), sync())).as("a named portal").isFalse();
        assertThat(passes(parse("", "select 1"), bind("", ""), execute(""))).as("no Sync yet").isFalse();
        assertThat(passes(parse("", "select 1"), bind("", ""), execute(""), wrap('H', Unpooled.buffer())))
                .as("a Flush").isFalse();
        assertThat(passes(parse("", "select 1"), bind("", ""), execute(""), sync(), query("select 2")))
                .as("more after the Sync").isFalse();
        assertThat(passes(query("select 1"), parse("", "select 1"), bind("", ""), execute(""), sync()))
                .as("protocols mixed").isFalse();
    }

    @Test
    void aMalformedMessageWaits() {
        assertThat(passes(wrap('Q', Unpooled.buffer().writeByte('s')))).as("no terminating zero").isFalse();
    }
}
