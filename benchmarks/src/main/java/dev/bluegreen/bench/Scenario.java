package dev.bluegreen.bench;

/** One row of the results: a pgbench query protocol ({@code -M}) and a client count ({@code -c}). */
record Scenario(String protocol, int clients) {
}
