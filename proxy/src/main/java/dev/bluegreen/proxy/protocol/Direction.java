package dev.bluegreen.proxy.protocol;

/**
 * Which way a message travels. The same type byte means different messages each way ({@code D} is
 * Describe from a client and DataRow from a server), so decoders are always built for one direction.
 */
public enum Direction {
    /** Client to server. */
    FRONTEND("BCcDdEFfHPpQSX"),
    /** Server to client. */
    BACKEND("123ACcDdEGHIKNnRSsTtVvWZ");

    private final boolean[] known = new boolean[256];

    Direction(String types) {
        for (char c : types.toCharArray()) {
            known[c] = true;
        }
    }

    public boolean isKnownType(byte type) {
        return known[type & 0xFF];
    }
}
