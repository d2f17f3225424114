/**
 * The durable state stores, {@code file} and {@code postgres}, and the JSON they write; depends on
 * {@code control} and JDBC, never on sessions, the server, the admin API or Netty.
 */
package dev.bluegreen.proxy.store;
