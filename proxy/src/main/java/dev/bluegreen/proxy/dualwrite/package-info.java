/**
 * Dual-write: what each cluster answered (outcomes recorded from frames as they pass), how the answers
 * are compared, divergence records. Depends on {@code protocol} and {@code routing}; not on sessions.
 */
package dev.bluegreen.proxy.dualwrite;
