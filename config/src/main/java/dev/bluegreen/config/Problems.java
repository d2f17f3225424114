package dev.bluegreen.config;

import java.util.ArrayList;
import java.util.List;

/** Collects every problem found while loading, in the order found, so all are reported at once. */
final class Problems {

    private final List<Problem> list = new ArrayList<>();

    void add(String path, String message) {
        list.add(new Problem(path, message));
    }

    boolean isEmpty() {
        return list.isEmpty();
    }

    int size() {
        return list.size();
    }

    void throwIfAny() throws ConfigException {
        if (!list.isEmpty()) {
            throw new ConfigException(list);
        }
    }

    /** {@code parent.key}, or {@code key} at the top level. */
    static String child(String parent, String key) {
        return parent.isEmpty() ? key : parent + "." + key;
    }
}
