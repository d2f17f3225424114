package dev.bluegreen.proxy.control;

import java.util.Locale;

/** Names for combinations of the routing state (DESIGN §2); derived, never stored. */
public enum Phase {
    /** Blue alone. */
    BLUE,
    /** Blue leads, green follows (sync or shadow), green may serve reads. */
    DUAL,
    /** Green leads, blue follows: rollback still loses nothing. */
    CUTOVER,
    /** Green alone; blue retired. */
    GREEN;

    /** As the status and the operator's messages name it: {@code dual}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
