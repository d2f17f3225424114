package dev.bluegreen.bench;

import java.util.List;

/** A pgbench built-in script; the label is pgbench's own name for it. */
enum Workload {
    /** {@code -S}: one primary-key lookup per transaction. */
    SELECT_ONLY("select-only", List.of("-S")),
    /** pgbench's default: three updates, a select and an insert in one transaction. */
    TPCB_LIKE("tpcb-like", List.of("-b", "tpcb-like"));

    private final String label;
    private final List<String> options;

    Workload(String label, List<String> options) {
        this.label = label;
        this.options = options;
    }

    String label() {
        return label;
    }

    /** The pgbench options that pick the script. */
    List<String> options() {
        return options;
    }

    /** Whether a run changes the pgbench tables, so that blue and green differ unless both got it. */
    boolean writes() {
        return this != SELECT_ONLY;
    }
}
