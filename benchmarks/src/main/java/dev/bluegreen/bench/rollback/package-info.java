/**
 * How soon a rollback takes effect: two proxies in this JVM on one {@code postgres} state store, measured
 * from the command's answer to the first unit blue serves. Uses the proxy's classes, unlike the pgbench
 * harness, which only ever runs the proxy as a process.
 */
package dev.bluegreen.bench.rollback;
