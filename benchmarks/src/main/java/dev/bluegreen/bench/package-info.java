/**
 * The end-to-end pgbench harness: blue directly, through bluegreen and through PgBouncer, side by side.
 * Drives external programs only (pgbench, pgbouncer, the proxy's executable jar) and starts blue with
 * the embedded module; it never loads the proxy's classes, so it measures the jar users run.
 */
package dev.bluegreen.bench;
