/** Configuration model, YAML loading, secret resolution and validation; depends on Jackson only, never on Netty or the proxy. */
package dev.bluegreen.config;
