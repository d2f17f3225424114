package dev.bluegreen.proxy.protocol;

/**
 * A peer broke the protocol: malformed, truncated or unknown message, a length over the limit. The
 * session that sees it answers with an error and closes; nothing else is affected.
 */
public final class ProtocolViolation extends RuntimeException {

    public ProtocolViolation(String message) {
        super(message, null, false, false);
    }
}
