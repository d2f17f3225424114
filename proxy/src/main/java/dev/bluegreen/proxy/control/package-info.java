/**
 * The routing state and how it changes: epochs, the pure transition rules (go or no-go with a reason),
 * the write barrier and the orchestrator that applies changes. Depends on {@code routing} for cluster
 * roles; never on Netty handlers or sessions.
 */
package dev.bluegreen.proxy.control;
