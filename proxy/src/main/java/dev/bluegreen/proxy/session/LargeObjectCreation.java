package dev.bluegreen.proxy.session;

import dev.bluegreen.proxy.protocol.FrontendMessages;
import dev.bluegreen.proxy.protocol.FrontendMessages.FunctionCall;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A large object created through the function-call interface gets the leader's OID on the follower too. libpq's
 * {@code lo_creat} and {@code lo_create(conn, 0)} (psycopg2's {@code lobject}, {@code psql}'s {@code \lo_import}) and
 * pgjdbc's {@code LargeObjectManager.createLO} call {@code lo_creat(mode)} or {@code lo_create(0)} by OID, and each
 * cluster then picks the next OID of its own counter: the next call naming the leader's OID ({@code lo_open}) failed
 * on the follower, a divergence. The follower is sent {@code lo_create(oid)} of the OID the leader returned instead.
 * Both functions have the same OIDs on every PostgreSQL release (they are in {@code pg_proc.dat}).
 */
final class LargeObjectCreation {

    /** {@code lo_creat(integer)}: a new large object, its OID picked by the server. */
    static final long LO_CREAT = 957;
    /** {@code lo_create(oid)}: a new large object of that OID, or (0) of one the server picks. */
    static final long LO_CREATE = 715;

    private LargeObjectCreation() {
    }

    /**
     * For the FunctionCall {@code call} (the frame at {@code from}, {@code length} bytes), where it lets the server pick
     * the new object's OID: {@code lo_create} of {@code leaderResult}, the value the leader returned for it. Null where
     * the call is another, or the leader's value is not an OID.
     */
    static ByteBuf forFollower(ByteBufAllocator alloc, ByteBuf call, int from, int length, byte[] leaderResult) {
        if (leaderResult == null) {
            return null;
        }
        long function = FrontendMessages.calledFunction(call, from, length);
        if (function != LO_CREAT && function != LO_CREATE) {
            return null; // (read no further: a lo_write's argument is the data written)
        }
        FunctionCall read = FrontendMessages.functionCall(call, from, length);
        if (read == null || !picksTheOid(read)) {
            return null;
        }
        long oid = oid(leaderResult, read.resultFormat() == 1);
        if (oid <= 0 || oid > 0xFFFF_FFFFL) {
            return null;
        }
        return FrontendMessages.functionCall(alloc, LO_CREATE, (int) oid, read.resultFormat());
    }

    /** Whether {@code call} creates a large object whose OID the server picks. */
    static boolean picksTheOid(FunctionCall call) {
        if (call.arguments().size() != 1 || call.arguments().getFirst() == null) {
            return false;
        }
        if (call.function() == LO_CREAT) {
            return true;
        }
        return call.function() == LO_CREATE && oid(call.arguments().getFirst(), call.binary().getFirst()) == 0;
    }

    /** An OID as a 4-byte binary value or decimal text; -1 where it is neither. */
    static long oid(byte[] value, boolean binary) {
        if (binary) {
            return value.length == 4 ? Integer.toUnsignedLong(ByteBuffer.wrap(value).getInt()) : -1;
        }
        String text = new String(value, StandardCharsets.US_ASCII);
        if (text.isEmpty() || text.length() > 10 || !text.chars().allMatch(Character::isDigit)) {
            return -1;
        }
        return Long.parseLong(text);
    }
}
