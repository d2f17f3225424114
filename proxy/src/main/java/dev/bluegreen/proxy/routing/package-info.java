/**
 * Routing decisions as pure functions: the SQL classifier and normaliser, sticky keys and the routing
 * policy that picks a unit's serving cluster. Depends on nothing but the JDK and Caffeine (no Netty, no
 * sessions), so every decision here is testable without a socket.
 */
package dev.bluegreen.proxy.routing;
