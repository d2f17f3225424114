/**
 * The proxy under the pgbench harness's control, in a JVM of its own, until the admin API exists.
 * {@link dev.bluegreen.bench.driver.ProxyDriver} is the only class of the benchmarks that loads the
 * proxy's classes; {@link dev.bluegreen.bench.driver.ControlProtocol}, shared with the harness, loads none.
 */
package dev.bluegreen.bench.driver;
