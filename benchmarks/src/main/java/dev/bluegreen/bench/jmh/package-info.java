/**
 * JMH micro-benchmarks of the proxy's hot path; they load the proxy's classes directly and run on
 * Netty's {@code EmbeddedChannel}, with no sockets. Run with {@code java -jar benchmarks/target/benchmarks.jar}.
 */
package dev.bluegreen.bench.jmh;
