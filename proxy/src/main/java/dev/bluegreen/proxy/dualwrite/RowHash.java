package dev.bluegreen.proxy.dualwrite;

import dev.bluegreen.proxy.routing.Hashing;
import io.netty.buffer.ByteBuf;

/**
 * A 64-bit hash of a byte range read in place (8 bytes at a time, then the tail), mixed with the
 * murmur3 finaliser ({@link Hashing#mix64}). Not cryptographic: it only has to make accidental
 * equality of different rows vanishingly unlikely.
 */
final class RowHash {

    private static final long SEED = 0x9E3779B97F4A7C15L;

    private RowHash() {}

    static long of(ByteBuf buf, int offset, int length) {
        long h = SEED ^ length;
        int i = offset;
        int end = offset + length;
        for (; i + 8 <= end; i += 8) {
            h = Hashing.mix64(h ^ buf.getLong(i)) * 0xBF58476D1CE4E5B9L;
        }
        long tail = 0;
        for (int shift = 0; i < end; i++, shift += 8) {
            tail |= (buf.getByte(i) & 0xFFL) << shift;
        }
        return Hashing.mix64(h ^ tail ^ ((long) length << 32));
    }
}
