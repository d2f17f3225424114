package dev.bluegreen.proxy.protocol;

/**
 * A peer broke the protocol: malformed, truncated or unknown message, a length over the limit. The
 * session that sees it answers with an error and closes; nothing else is affected.
 */
public final class ProtocolViolation extends RuntimeException {

    private final boolean overLimit;

    public ProtocolViolation(String message) {
        this(message, false);
    }

    private ProtocolViolation(String message, boolean overLimit) {
        super(message, null, false, false);
        this.overLimit = overLimit;
    }

    /** A well-formed message longer than the proxy is configured to hold ({@code limits.max_message_size}). */
    static ProtocolViolation overLimit(String message) {
        return new ProtocolViolation(message, true);
    }

    /**
     * Whether the message broke no rule of the protocol, only the proxy's limit: from a cluster, a row or
     * COPY chunk larger than {@code limits.max_message_size}, which Postgres allows up to 1 GiB.
     */
    public boolean overLimit() {
        return overLimit;
    }
}
