package dev.bluegreen.proxy.session;

import dev.bluegreen.proxy.protocol.BackendKeyData;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Proxy-minted cancel keys. A client never sees a backend's key: it gets one of ours, and a
 * CancelRequest quoting it is mapped to the session (and from there to whichever backends are running
 * that session's query). Process ids are unique among live sessions; secrets are compared in constant
 * time. With peering on, a process id carries the minting instance's id in its top bits
 * ({@link #instanceOf}), so that an instance given a key it did not mint knows whose it is, and below it
 * the hops a forwarded request may still take ({@link #hopsLeft}), which bound a loop between instances
 * whose configurations disagree.
 */
public final class CancelKeys {

    /** The bits of a process id below the instance's id (8 bits above them, the sign bit clear). */
    static final int SESSION_BITS = 23;
    /** Of those, the top two count the hops a forwarded request may still take; the session is the rest. */
    private static final int HOP_SHIFT = 21;
    static final int HOPS = 3;
    private static final int HOP_MASK = 3 << HOP_SHIFT;

    private final ConcurrentMap<Integer, Entry> byProcessId = new ConcurrentHashMap<>();
    private final SecureRandom random;
    private final int instance;

    private record Entry(byte[] secret, ClientSession session) {}

    public CancelKeys(SecureRandom random) {
        this(random, 0);
    }

    /** Keys carrying {@code instance} (1-255), or none when 0 (peering off). */
    public CancelKeys(SecureRandom random, int instance) {
        this.random = random;
        this.instance = instance;
    }

    /** The instance that minted a key with this process id; 0 when peering is off here. */
    int instanceOf(int processId) {
        return instance == 0 ? 0 : processId >>> SESSION_BITS;
    }

    /** How many more times a request quoting this process id may be forwarded (peering on). */
    static int hopsLeft(int processId) {
        return (processId & HOP_MASK) >>> HOP_SHIFT;
    }

    /** The process id a forwarded request quotes: one hop fewer left. */
    static int forwarded(int processId) {
        return processId & ~HOP_MASK | (hopsLeft(processId) - 1) << HOP_SHIFT;
    }

    BackendKeyData mint(ClientSession session) {
        byte[] secret = new byte[4];
        random.nextBytes(secret);
        while (true) {
            int processId = instance == 0 ? random.nextInt(1, Integer.MAX_VALUE)
                    : instance << SESSION_BITS | HOPS << HOP_SHIFT | random.nextInt(1, 1 << HOP_SHIFT);
            if (byProcessId.putIfAbsent(processId, new Entry(secret, session)) == null) {
                return new BackendKeyData(processId, secret);
            }
        }
    }

    void release(BackendKeyData key) {
        byProcessId.computeIfPresent(key.processId(), (id, entry) -> entry.secret() == key.secretKey() ? null : entry);
    }

    Optional<ClientSession> find(int processId, byte[] secret) {
        // a request forwarded to the instance that minted the key quotes it with fewer hops left
        Entry entry = byProcessId.get(instance == 0 ? processId : processId | HOP_MASK);
        if (entry == null || !MessageDigest.isEqual(entry.secret(), secret)) {
            return Optional.empty();
        }
        return Optional.of(entry.session());
    }

    int size() {
        return byProcessId.size();
    }

}
