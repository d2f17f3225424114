package dev.bluegreen.proxy.server;

import dev.bluegreen.config.BluegreenConfig;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.control.StateStore;

/** Opens the state store the configuration names and loads the routing state from it. */
final class StateStores {

    private StateStores() {}

    static RoutingControl openControl(BluegreenConfig config) throws StateStore.Failure {
        // TODO until the file and postgres stores land: nothing durable
        return RoutingControl.open(StateStore.inMemory(RoutingState.initial()), config.routing().writeBarrierTimeout());
    }
}
