/**
 * Password authentication, both ways: the proxy as a server to its clients (SCRAM-SHA-256, md5) and
 * as a client to the clusters. Pure functions over strings and bytes; no Netty.
 */
package dev.bluegreen.proxy.auth;
