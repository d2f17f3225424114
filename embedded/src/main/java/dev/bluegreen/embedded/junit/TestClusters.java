package dev.bluegreen.embedded.junit;

import dev.bluegreen.embedded.PgCluster;

/** The pair every integration test shares: blue on PostgreSQL 16, green on 18. */
public record TestClusters(PgCluster blue, PgCluster green) {
}
