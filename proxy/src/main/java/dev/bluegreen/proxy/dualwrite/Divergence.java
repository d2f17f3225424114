package dev.bluegreen.proxy.dualwrite;

import java.time.Instant;

/**
 * One time the follower did not do what the leader did (DESIGN §5). Carries the statement normalised
 * (literals replaced, never parameter values), both outcomes and the session, so an operator can tell
 * a schema difference from a bug without seeing anybody's data.
 *
 * @param statement  the normalised SQL of the unit
 * @param leader     the leader's outcome, described
 * @param follower   the follower's outcome, described ("unreachable" when it was lost)
 * @param difference what differed, in words
 */
public record Divergence(Instant at, String session, String leaderCluster, String statement,
                         String leader, String follower, String difference) {}
