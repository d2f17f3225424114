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
 * time.
 */
public final class CancelKeys {

    private final ConcurrentMap<Integer, Entry> byProcessId = new ConcurrentHashMap<>();
    private final SecureRandom random;

    private record Entry(byte[] secret, ClientSession session) {}

    public CancelKeys(SecureRandom random) {
        this.random = random;
    }

    BackendKeyData mint(ClientSession session) {
        byte[] secret = new byte[4];
        random.nextBytes(secret);
        while (true) {
            int processId = random.nextInt(1, Integer.MAX_VALUE);
            if (byProcessId.putIfAbsent(processId, new Entry(secret, session)) == null) {
                return new BackendKeyData(processId, secret);
            }
        }
    }

    void release(BackendKeyData key) {
        byProcessId.computeIfPresent(key.processId(), (id, entry) -> entry.secret() == key.secretKey() ? null : entry);
    }

    Optional<ClientSession> find(int processId, byte[] secret) {
        Entry entry = byProcessId.get(processId);
        if (entry == null || !MessageDigest.isEqual(entry.secret(), secret)) {
            return Optional.empty();
        }
        return Optional.of(entry.session());
    }

    int size() {
        return byProcessId.size();
    }

}
