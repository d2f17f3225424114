/**
 * Client sessions and their server connections: thin Netty handlers feeding explicit state machines
 * (one for the client connection, one per backend connection), cancel keys, and the services a session
 * needs. Depends on {@code protocol}, {@code auth} and {@code config}; never on the server bootstrap.
 */
package dev.bluegreen.proxy.session;
