/**
 * The admin HTTP API on Netty: bearer-token authentication and its audit, JSON views of the routing
 * state, history, divergences and figures, one handler per operator command, and {@code /metrics}.
 * Depends on {@code control}, {@code dualwrite}, {@code metrics} and {@code config}; never on sessions,
 * the wire protocol or the server bootstrap, which wires it in.
 */
package dev.bluegreen.proxy.admin;
