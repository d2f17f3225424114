package dev.bluegreen.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.it.RawClient;
import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.FrontendMessages;
import dev.bluegreen.proxy.routing.Classification;
import dev.bluegreen.proxy.routing.Classifier;
import dev.bluegreen.proxy.routing.Trait;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a session's prepared statements and portals say, as units mode reads them from the client's messages: what a
 * unit runs, the texts kept, the Parses kept for the follower within their budget, and what the whole of a text longer
 * than kept says.
 */
class ClientStatementsTest {

    private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;
    private static final Classifier CLASSIFIER = new Classifier(100);

    private final ClientStatements statements = new ClientStatements(new SqlReading(), CLASSIFIER, ALLOC, Set.of());
    private final List<ByteBuf> made = new ArrayList<>();

    @AfterEach
    void releaseWhatWasKept() {
        statements.release();
        made.forEach(ByteBuf::release);
    }

    private ByteBuf kept(ByteBuf buffer) {
        made.add(buffer);
        return buffer;
    }

    private Frame parse(String name, String sql) {
        return Frame.of(kept(FrontendMessages.parse(ALLOC, name, sql, List.of())));
    }

    private Frame bind(String portal, String statement) {
        return Frame.of(kept(Unpooled.wrappedBuffer(RawClient.bind(portal, statement))));
    }

    private Frame execute(String portal) {
        return Frame.of(kept(Unpooled.wrappedBuffer(RawClient.execute(portal))));
    }

    private Frame close(String statement) {
        return Frame.of(kept(FrontendMessages.closeStatement(ALLOC, statement)));
    }

    private Frame sync() {
        return Frame.of(kept(FrontendMessages.sync(ALLOC)));
    }

    private Classification classify(byte status, Frame... frames) {
        return statements.classify(new ArrayDeque<>(List.of(frames)), frames.length, status);
    }

    @Test
    void aStatementPreparedByNameIsKnownByItsNameUntilItIsClosed() {
        Classification parsed = classify((byte) 'I', parse("s1", "insert into t (v) values ($1)"), sync());
        assertThat(parsed.statementCount()).isZero(); // a Parse alone runs nothing
        assertThat(statements.namesStatements()).isTrue();
        assertThat(statements.classification("s1").isRead()).isFalse();
        assertThat(statements.text("s1")).isEqualTo("insert into t (v) values ($1)");

        Classification bound = classify((byte) 'I', bind("", "s1"), execute(""), sync());
        assertThat(bound.isRead()).isFalse();
        assertThat(statements.namesStatements()).isFalse();

        classify((byte) 'I', close("s1"), sync());
        assertThat(statements.classification("s1")).isNull();
        assertThat(statements.text("s1")).isNull();
        // a Bind of a name the proxy does not know may be anything, a COMMIT among them
        Classification unknown = classify((byte) 'I', bind("", "s1"), execute(""), sync());
        assertThat(unknown.has(Trait.UNPARSEABLE)).isTrue();
        assertThat(statements.unreadMayCommit()).isTrue();
    }

    @Test
    void aBindOfTheUnnamedStatementAnEarlierUnitParsedReparsesIt() {
        classify((byte) 'I', parse("", "select 1"), bind("", ""), execute(""), sync());
        assertThat(statements.reusesUnnamed()).isFalse();
        classify((byte) 'I', bind("", ""), execute(""), sync());
        assertThat(statements.reusesUnnamed()).isTrue();
        assertThat(FrontendMessages.parseSql(statements.unnamedParse(), statements.unnamedParse().readerIndex(),
                statements.unnamedParse().readableBytes())).isEqualTo("select 1");
    }

    @Test
    void anExecuteOfAPortalAnEarlierUnitBoundRunsWhatThatPortalRuns() {
        classify((byte) 'T', parse("w", "update t set v = v + 1 returning v"), bind("p", "w"), execute("p"), sync());
        Classification more = classify((byte) 'T', execute("p"), sync());
        assertThat(statements.continuesPortal()).isTrue();
        assertThat(more.isRead()).isFalse();
        // a portal ends with its transaction
        Classification afterIt = classify((byte) 'I', execute("p"), sync());
        assertThat(afterIt.has(Trait.UNPARSEABLE)).isTrue();
    }

    @Test
    void aTextLongerThanKeptIsCutButItsWholeIsRead() {
        String rows = String.join(", ", java.util.Collections.nCopies(300, "(lower(upper($1)))"));
        String insert = "insert into t (v) values " + rows;
        classify((byte) 'I', parse("big", insert), sync());
        String text = statements.text("big");
        assertThat(ClientStatements.shortened(text)).isTrue();
        assertThat(text).hasSize(ClientStatements.MAX_STATEMENT_TEXT + 1);
        ClientStatements.Whole whole = statements.cutText("big");
        assertThat(whole.insert().places().rows()).hasSize(300); // what the beginning cannot say
        assertThat(whole.insert().upsert()).isFalse();
        assertThat(whole.readsStart()).isFalse();

        String update = "update t set v = " + "lower(".repeat(400) + "v" + ")".repeat(400) + ", at = now() where k = $1";
        classify((byte) 'I', parse("late", update), sync());
        assertThat(statements.text("late")).doesNotContain("now()");
        assertThat(statements.cutText("late").readsStart()).isTrue();
        assertThat(statements.cutText("late").insert()).isNull();

        assertThat(statements.cutText("short")).isNull();
        classify((byte) 'I', parse("short", "insert into t (v) values ($1)"), sync());
        assertThat(statements.cutText("short")).isNull();
        classify((byte) 'I', close("big"), sync());
        assertThat(statements.cutText("big")).isNull();
    }

    @Test
    void parsesAreKeptForTheFollowerWithinTheSessionsBudget() {
        ByteBuf small = kept(FrontendMessages.parse(ALLOC, "s", "insert into t (v) values ($1)", List.of()));
        assertThat(statements.keepIfRewritable("s", small, small.readerIndex(), small.readableBytes())).isTrue();
        // a statement longer than the text kept of it is kept whole for the follower
        String longText = "insert into t (v) values (" + "lower(".repeat(600) + "$1" + ")".repeat(600) + ")";
        ByteBuf longer = kept(FrontendMessages.parse(ALLOC, "l", longText, List.of()));
        assertThat(statements.keepIfRewritable("l", longer, longer.readerIndex(), longer.readableBytes())).isTrue();
        assertThat(statements.keptParse("l").readableBytes()).isEqualTo(longer.readableBytes());
        // 512 KiB together: one statement of more is not kept, and the follower gets the client's text
        String huge = "insert into t (v) values ('" + "x".repeat(600 * 1024) + "')";
        ByteBuf hugeParse = kept(FrontendMessages.parse(ALLOC, "h", huge, List.of()));
        assertThat(statements.keepIfRewritable("h", hugeParse, hugeParse.readerIndex(), hugeParse.readableBytes())).isFalse();
        assertThat(statements.keptParse("h")).isNull();
        // nor more than 256 statements
        for (int i = 0; i < 254; i++) {
            ByteBuf next = kept(FrontendMessages.parse(ALLOC, "n" + i, "insert into t (v) values ($1)", List.of()));
            assertThat(statements.keepIfRewritable("n" + i, next, next.readerIndex(), next.readableBytes())).isTrue();
        }
        ByteBuf oneMore = kept(FrontendMessages.parse(ALLOC, "over", "insert into t (v) values ($1)", List.of()));
        assertThat(statements.keepIfRewritable("over", oneMore, oneMore.readerIndex(), oneMore.readableBytes())).isFalse();
        // a Close makes room, and gives its bytes back
        classify((byte) 'I', close("l"), sync());
        assertThat(statements.keptParse("l")).isNull();
        assertThat(statements.keepIfRewritable("over", oneMore, oneMore.readerIndex(), oneMore.readableBytes())).isTrue();
        assertThat(statements.keptParses()).hasSize(256);
    }

    @Test
    void aDiscardAllForgetsEveryNameButKeepsAHintOfWhatItWas() {
        classify((byte) 'I', parse("c", "commit"), sync());
        classify((byte) 'I', Frame.of(kept(FrontendMessages.query(ALLOC, "DISCARD ALL"))));
        assertThat(statements.classification("c")).isNull();
        classify((byte) 'T', bind("", "c"), execute(""), sync());
        assertThat(statements.unreadMayCommit()).isTrue(); // it was a COMMIT
        assertThat(statements.unreadUnwrapped()).isTrue();
    }
}
