package dev.bluegreen.bench;

/** Where pgbench connects: a server, a proxy or a pooler, always as the same user and database. */
record Endpoint(String host, int port, String user, String database) {

    String url() {
        return "postgresql://" + user + "@" + host + ":" + port + "/" + database;
    }
}
