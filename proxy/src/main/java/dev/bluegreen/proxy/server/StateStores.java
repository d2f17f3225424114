package dev.bluegreen.proxy.server;

import dev.bluegreen.config.BluegreenConfig;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.StateStore;
import dev.bluegreen.proxy.store.FileStateStore;
import dev.bluegreen.proxy.store.PostgresStateStore;

/** Opens the state store the configuration names and loads the routing state from it. */
final class StateStores {

    private StateStores() {}

    /**
     * The routing control on the configured store: {@code <state-dir>} for {@code file}, the shared
     * database for {@code postgres}. {@code <state-dir>} is locked against a second proxy with the file
     * store, and with the postgres store when this proxy will write there ({@code writesStateDir}). Blocks on
     * I/O; fails (and releases the store) when it cannot load.
     */
    static RoutingControl openControl(BluegreenConfig config, boolean writesStateDir) throws StateStore.Failure {
        StateStore store = switch (config.stateStore().kind()) {
            case FILE -> new FileStateStore(config.stateDir());
            case POSTGRES -> new PostgresStateStore(config.stateStore(), PostgresStateStore.instanceName(),
                    writesStateDir ? config.stateDir() : null);
        };
        return RoutingControl.open(store, config.routing().writeBarrierTimeout());
    }
}
