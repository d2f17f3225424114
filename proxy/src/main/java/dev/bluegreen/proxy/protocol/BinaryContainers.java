package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;

/**
 * Whether a value in binary format reads exactly as an array ({@code array_send}) or a record ({@code record_send}):
 * the two that carry type OIDs inside them. What reads them (the digest that compares the twins' rows, the copy that
 * gives another cluster its own OIDs) judges by this shape, since a column's or parameter's type is not at hand there.
 */
public final class BinaryContainers {

    /** PostgreSQL's {@code MAXDIM}. */
    public static final int MAX_DIMENSIONS = 6;
    /** PostgreSQL's {@code MaxTupleAttributeNumber}. */
    public static final int MAX_FIELDS = 1664;
    /** The smallest array, or record holding a field: three int32 words. */
    public static final int SMALLEST = 12;
    /** Arrays of records of arrays …: what reads them goes no deeper, for its stack's sake. */
    public static final int MAX_DEPTH = 32;

    private BinaryContainers() {}

    /**
     * array_send's layout: int32 ndim, int32 has-nulls flag (0 or 1), int32 element type OID, per dimension int32 size
     * and int32 lower bound, then per element int32 length (-1: null) and bytes, to the last byte.
     */
    public static boolean isArray(ByteBuf buf, int offset, int length) {
        if (length < SMALLEST) {
            return false;
        }
        int dimensions = buf.getInt(offset);
        int flags = buf.getInt(offset + 4);
        int elementType = buf.getInt(offset + 8);
        if (dimensions < 0 || dimensions > MAX_DIMENSIONS || (flags & ~1) != 0 || elementType == 0
                || length - SMALLEST < 8 * dimensions) {
            return false;
        }
        int end = offset + length;
        int i = offset + SMALLEST;
        int elementsAt = i + 8 * dimensions;
        long elements = dimensions == 0 ? 0 : 1;
        for (int d = 0; d < dimensions; d++, i += 8) {
            int size = buf.getInt(i);
            elements *= size;
            // every element takes at least its length word; this also keeps the product from overflowing
            if (size < 0 || elements > (end - elementsAt) / 4) {
                return false;
            }
        }
        for (long e = 0; e < elements; e++) {
            if (end - i < 4) {
                return false;
            }
            int elementLength = buf.getInt(i);
            i += 4;
            if (elementLength < -1 || elementLength > end - i) {
                return false;
            }
            i += Math.max(elementLength, 0);
        }
        return i == end;
    }

    /**
     * record_send's layout: int32 field count, then per field int32 type OID (not 0), int32 length (-1: null) and bytes,
     * to the last byte.
     */
    public static boolean isRecord(ByteBuf buf, int offset, int length) {
        if (length < 4) {
            return false;
        }
        int fields = buf.getInt(offset);
        if (fields < 0 || fields > MAX_FIELDS || fields > (length - 4) / 8) {
            return false;
        }
        int end = offset + length;
        int i = offset + 4;
        for (int f = 0; f < fields; f++) {
            if (end - i < 8 || buf.getInt(i) == 0) {
                return false;
            }
            int fieldLength = buf.getInt(i + 4);
            i += 8;
            if (fieldLength < -1 || fieldLength > end - i) {
                return false;
            }
            i += Math.max(fieldLength, 0);
        }
        return i == end;
    }
}
