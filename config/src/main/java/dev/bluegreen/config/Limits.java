package dev.bluegreen.config;

/**
 * Bounds that protect the proxy from a misbehaving or hostile peer.
 *
 * @param maxClientConnections client connections accepted at once; more are refused
 * @param maxMessageBytes the largest protocol message accepted, length word included
 * @param maxStartupPacketBytes the largest startup packet accepted from a client
 */
public record Limits(int maxClientConnections, int maxMessageBytes, int maxStartupPacketBytes) {

    public static final int DEFAULT_MAX_CLIENT_CONNECTIONS = 1000;
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
    public static final int DEFAULT_MAX_STARTUP_PACKET_BYTES = 10 * 1024;

    public Limits {
        if (maxClientConnections < 1 || maxMessageBytes < 1 || maxStartupPacketBytes < 1) {
            throw new IllegalArgumentException("limits must be positive");
        }
    }

    /** 1000 connections, 256 MiB messages, 10 KiB startup packets. */
    public static Limits defaults() {
        return new Limits(
                DEFAULT_MAX_CLIENT_CONNECTIONS, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_STARTUP_PACKET_BYTES);
    }
}
