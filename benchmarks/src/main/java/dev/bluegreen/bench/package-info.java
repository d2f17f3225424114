/**
 * The end-to-end pgbench harness: blue directly, through bluegreen and through PgBouncer, side by side;
 * and blue directly beside bluegreen with dual-write to green off and on. Drives external programs only
 * (pgbench, pgbouncer, the proxy's executable jar, and the proxy under {@code bench.driver}'s control for
 * dual-write) and starts the clusters with the embedded module; it never loads the proxy's classes, so
 * the proxy it measures always runs in a JVM of its own.
 */
package dev.bluegreen.bench;
