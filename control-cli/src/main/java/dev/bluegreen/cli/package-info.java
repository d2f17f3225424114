/** bgctl, the operator's command line; talks only to the proxy's admin HTTP API (and to the clusters for verify). */
package dev.bluegreen.cli;
