package dev.bluegreen.proxy.session;

import io.netty.channel.Channel;

/**
 * The channel events a connection's state machine reacts to. Both sides implement it (the client
 * connection in {@link ClientSession}, each server connection in {@link BackendConnection}); Netty
 * reaches them through one thin {@link EventsHandler}.
 */
interface ChannelEvents {

    void onActive(Channel channel);

    /** The handler owns {@code message} from here: forward it or release it. */
    void onRead(Object message);

    void onReadComplete();

    void onWritabilityChanged(boolean writable);

    void onUserEvent(Object event);

    void onException(Throwable cause);

    void onInactive();
}
