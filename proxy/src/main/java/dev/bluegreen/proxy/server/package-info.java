/**
 * The running proxy: event loops, the SQL listener, TLS contexts built from configuration, and orderly
 * shutdown. Wires {@code session} to Netty's bootstrap; nothing depends on this package but {@code Main}.
 */
package dev.bluegreen.proxy.server;
