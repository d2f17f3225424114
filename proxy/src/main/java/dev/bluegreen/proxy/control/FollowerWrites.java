package dev.bluegreen.proxy.control;

/** Whether, and how, the follower receives the leader's writes. */
public enum FollowerWrites {
    /** Leader only. */
    OFF,
    /** Every write unit runs on the leader, then on the follower, under the ordering rule. */
    SYNC,
    /** Shadow mode: best effort, queue-bounded, drops counted; never allows weight above 0. */
    ASYNC
}
