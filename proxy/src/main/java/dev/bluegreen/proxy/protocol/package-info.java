/**
 * PostgreSQL wire protocol: frames, the one-shot startup decoder, and one small record per message the
 * proxy needs to read or write. Depends on Netty buffers only; knows nothing of sessions or routing.
 */
package dev.bluegreen.proxy.protocol;
