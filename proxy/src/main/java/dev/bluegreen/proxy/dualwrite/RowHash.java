package dev.bluegreen.proxy.dualwrite;

import dev.bluegreen.proxy.protocol.BinaryContainers;
import dev.bluegreen.proxy.protocol.FrontendMessages;
import dev.bluegreen.proxy.routing.Hashing;
import io.netty.buffer.ByteBuf;

/**
 * A 64-bit hash of a byte range read in place (8 bytes at a time, then the tail), mixed with the
 * murmur3 finaliser ({@link Hashing#mix64}). Not cryptographic: it only has to make accidental
 * equality of different rows vanishingly unlikely.
 *
 * <p>{@link #ofDataRow} is what two clusters' rows are compared by, and it keeps one invariant beyond
 * that: two rows that differ only in the OIDs of user-defined types (at or above
 * {@code FirstNormalObjectId}, 16384) embedded in binary-format arrays and records hash alike. Those
 * OIDs are assigned per cluster, so blue's and green's differ for the same enum or composite. The
 * recorder does not know each column's format (the RowDescription may have come in an earlier unit),
 * so each value decides for itself: text-format values never hold a NUL byte, and a value that
 * starts with one and parses exactly as a binary array or record (every length consistent, the
 * value consumed to its last byte) is taken for one. Everything else, the OIDs below 16384 included,
 * counts byte for byte. The price: a {@code bytea} value that happens to parse exactly as an array or
 * record with such an OID has those four bytes ignored.
 */
final class RowHash {

    private static final long SEED = 0x9E3779B97F4A7C15L;
    private static final long STEP = 0xBF58476D1CE4E5B9L;


    // outside the 32-bit range, so no OID, length or word hashes to them
    private static final long USER_OID = 1L << 32;
    private static final long NULL = 2L << 32;
    private static final long ROW = 3L << 32;
    private static final long ARRAY = 4L << 32;
    private static final long RECORD = 5L << 32;

    private RowHash() {}

    static long of(ByteBuf buf, int offset, int length) {
        long h = SEED ^ length;
        int i = offset;
        int end = offset + length;
        for (; i + 8 <= end; i += 8) {
            h = Hashing.mix64(h ^ buf.getLong(i)) * STEP;
        }
        long tail = 0;
        for (int shift = 0; i < end; i++, shift += 8) {
            tail |= (buf.getByte(i) & 0xFFL) << shift;
        }
        return Hashing.mix64(h ^ tail ^ ((long) length << 32));
    }

    /**
     * The hash of a DataRow's body (column count, then each column's length and bytes), blind to
     * user-defined type OIDs inside binary arrays and records. A row none of whose values could be
     * one (the usual case, and every text-format row) is hashed as {@link #of} hashes it.
     */
    static long ofDataRow(ByteBuf buf, int offset, int length) {
        return mayHoldContainer(buf, offset, length) ? ofColumns(buf, offset, length) : of(buf, offset, length);
    }

    /** True if a value of the row is long enough to be an array or record and starts with a NUL byte. */
    private static boolean mayHoldContainer(ByteBuf buf, int offset, int length) {
        if (length < 2) {
            return false;
        }
        int end = offset + length;
        int columns = buf.getUnsignedShort(offset);
        int i = offset + 2;
        for (int c = 0; c < columns; c++) {
            if (end - i < 4) {
                return false;
            }
            int valueLength = buf.getInt(i);
            i += 4;
            if (valueLength > 0) {
                if (valueLength > end - i) {
                    return false;
                }
                if (valueLength >= BinaryContainers.SMALLEST && buf.getByte(i) == 0) {
                    return true;
                }
                i += valueLength;
            }
        }
        return false;
    }

    private static long ofColumns(ByteBuf buf, int offset, int length) {
        int end = offset + length;
        int columns = buf.getUnsignedShort(offset);
        long h = step(SEED ^ ROW, columns);
        int i = offset + 2;
        for (int c = 0; c < columns; c++) {
            if (end - i < 4) {
                return of(buf, offset, length);
            }
            int valueLength = buf.getInt(i);
            i += 4;
            if (valueLength < -1 || valueLength > end - i) {
                return of(buf, offset, length);
            }
            h = step(h, valueLength == -1 ? NULL : value(buf, i, valueLength, 0));
            i += Math.max(valueLength, 0);
        }
        return i == end ? Hashing.mix64(h ^ length) : of(buf, offset, length);
    }

    private static long value(ByteBuf buf, int offset, int length, int depth) {
        if (length >= BinaryContainers.SMALLEST && depth < BinaryContainers.MAX_DEPTH && buf.getByte(offset) == 0) {
            if (BinaryContainers.isArray(buf, offset, length)) {
                return array(buf, offset, length, depth);
            }
            if (BinaryContainers.isRecord(buf, offset, length)) {
                return record(buf, offset, length, depth);
            }
        }
        return of(buf, offset, length);
    }

    private static long array(ByteBuf buf, int offset, int length, int depth) {
        int dimensions = buf.getInt(offset);
        long h = step(SEED ^ ARRAY, buf.getLong(offset));
        h = step(h, oid(buf.getInt(offset + 8)));
        int i = offset + BinaryContainers.SMALLEST;
        long elements = dimensions == 0 ? 0 : 1;
        for (int d = 0; d < dimensions; d++, i += 8) {
            elements *= buf.getInt(i);
            h = step(h, buf.getLong(i));
        }
        for (long e = 0; e < elements; e++) {
            int elementLength = buf.getInt(i);
            i += 4;
            h = step(h, elementLength == -1 ? NULL : value(buf, i, elementLength, depth + 1));
            i += Math.max(elementLength, 0);
        }
        return Hashing.mix64(h ^ length);
    }

    private static long record(ByteBuf buf, int offset, int length, int depth) {
        int fields = buf.getInt(offset);
        long h = step(SEED ^ RECORD, fields);
        int i = offset + 4;
        for (int f = 0; f < fields; f++) {
            int fieldLength = buf.getInt(i + 4);
            h = step(h, oid(buf.getInt(i)));
            i += 8;
            h = step(h, fieldLength == -1 ? NULL : value(buf, i, fieldLength, depth + 1));
            i += Math.max(fieldLength, 0);
        }
        return Hashing.mix64(h ^ length);
    }

    /** The OID as it counts: a built-in one as itself, every user-defined one as the same constant. */
    private static long oid(int oid) {
        return Integer.toUnsignedLong(oid) >= FrontendMessages.FIRST_NORMAL_OID ? USER_OID : Integer.toUnsignedLong(oid);
    }

    private static long step(long h, long word) {
        return Hashing.mix64(h ^ word) * STEP;
    }
}
