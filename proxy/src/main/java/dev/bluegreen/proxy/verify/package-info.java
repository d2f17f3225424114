/**
 * {@code bgctl verify}: the consistency check that finds what dual-write's per-statement comparison let
 * slip through (DESIGN §5, §7). Reads both clusters directly over JDBC (logging in as {@code store}'s
 * connections do, and asking {@code store} where the {@code postgres} state store keeps its tables);
 * depends on {@code control} for the write barrier and on nothing that carries traffic.
 */
package dev.bluegreen.proxy.verify;
