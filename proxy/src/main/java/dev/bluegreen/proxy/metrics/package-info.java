/**
 * Every meter the proxy publishes, named in one place by hop. Reads figures from {@code control} and
 * {@code dualwrite}; knows nothing of Netty, sessions, the admin API or the server bootstrap.
 */
package dev.bluegreen.proxy.metrics;
