package dev.bluegreen.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Where the routing state lives (DESIGN §7): a JSON file in the state directory (one proxy), or a table
 * in a PostgreSQL database that several proxy instances share.
 *
 * @param database the database holding the {@code bluegreen_*} tables; null for {@link Kind#FILE}
 * @param heartbeat how often a {@code postgres} instance says it is alive and looks for changes it may
 *     have missed a notification for
 * @param instanceTimeout an instance silent for this long is left out of write barriers
 */
public record StateStoreConfig(Kind kind, Cluster database, Duration heartbeat, Duration instanceTimeout) {

    public enum Kind { FILE, POSTGRES }

    public static final Duration DEFAULT_HEARTBEAT = Duration.ofSeconds(1);
    public static final Duration DEFAULT_INSTANCE_TIMEOUT = Duration.ofSeconds(5);

    public StateStoreConfig {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(heartbeat, "heartbeat");
        Objects.requireNonNull(instanceTimeout, "instanceTimeout");
        if ((kind == Kind.POSTGRES) != (database != null)) {
            throw new IllegalArgumentException("a postgres state store needs a database, a file store none");
        }
        if (heartbeat.isNegative() || heartbeat.isZero()) {
            throw new IllegalArgumentException("the heartbeat must be more than 0");
        }
        if (instanceTimeout.compareTo(heartbeat.multipliedBy(2)) < 0) {
            throw new IllegalArgumentException("the instance timeout must be at least two heartbeats");
        }
    }

    /** The default: {@code <state-dir>/state.json}. */
    public static StateStoreConfig file() {
        return new StateStoreConfig(Kind.FILE, null, DEFAULT_HEARTBEAT, DEFAULT_INSTANCE_TIMEOUT);
    }

    public static StateStoreConfig postgres(Cluster database) {
        return new StateStoreConfig(Kind.POSTGRES, database, DEFAULT_HEARTBEAT, DEFAULT_INSTANCE_TIMEOUT);
    }

    /** For messages and logs; never a credential. */
    public String describe() {
        return kind == Kind.FILE ? "file" : "postgres at " + database.endpoint();
    }
}
