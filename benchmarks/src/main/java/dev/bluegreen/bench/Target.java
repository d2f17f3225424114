package dev.bluegreen.bench;

/** What pgbench talks to; the order here is the order targets are measured in and shown. */
enum Target {
    DIRECT("direct"),
    BLUEGREEN("bluegreen"),
    PGBOUNCER("pgbouncer");

    private final String label;

    Target(String label) {
        this.label = label;
    }

    String label() {
        return label;
    }
}
