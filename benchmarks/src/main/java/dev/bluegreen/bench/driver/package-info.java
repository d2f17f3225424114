/**
 * The proxy under the pgbench harness's control, in a JVM of its own (this predates the admin API).
 * {@link dev.bluegreen.bench.driver.ProxyDriver} loads the proxy's classes, as does
 * {@code bench.rollback}; {@link dev.bluegreen.bench.driver.ControlProtocol}, shared with the harness,
 * loads none.
 */
package dev.bluegreen.bench.driver;
