package dev.bluegreen.proxy.routing;

import java.nio.charset.StandardCharsets;

/**
 * The hash functions routing relies on. They are fixed by specification, not by the JVM, because every
 * proxy instance (and every restart) must put a tenant or a statement in the same place.
 */
public final class Hashing {

    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    private Hashing() {
    }

    /** MurmurHash3's 64-bit finaliser: every input bit flips about half of the output bits. */
    public static long mix64(long value) {
        long h = value;
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }

    /** 64-bit FNV-1a of the text's UTF-8 bytes, finished with {@link #mix64} for avalanche. */
    static long text64(String text) {
        long h = FNV_OFFSET;
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= FNV_PRIME;
        }
        return mix64(h);
    }
}
