package dev.bluegreen.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FollowerCommitsTest {

    private final FollowerCommits commits = new FollowerCommits();
    private final List<String> ran = new ArrayList<>();

    @Test
    void aSessionWaitsOnlyForTheCommitsHeardOfWhenItsLeaderAnswered() {
        long first = commits.leaderCommitted();
        long heard = commits.heard();
        long later = commits.leaderCommitted();

        assertThat(commits.landed(heard)).isFalse();
        commits.await(heard, Runnable::run, () -> ran.add("flushed"));
        assertThat(ran).isEmpty();

        commits.followerEnded(first);
        assertThat(ran).as("the later commit was not heard of: not waited for").containsExactly("flushed");
        assertThat(commits.landed(heard)).isTrue();
        assertThat(commits.landed(commits.heard())).isFalse();

        commits.followerEnded(later);
        assertThat(commits.pending()).isZero();
    }

    @Test
    void commitsLandingOutOfOrderReleaseAWaiterOnlyOnceAllUpToItsNumberHave() {
        long one = commits.leaderCommitted();
        long two = commits.leaderCommitted();
        commits.await(two, Runnable::run, () -> ran.add("flushed"));

        commits.followerEnded(two);
        assertThat(ran).as("commit one is still on its way to its follower").isEmpty();
        commits.followerEnded(one);
        assertThat(ran).containsExactly("flushed");
    }

    @Test
    void aWaitForCommitsThatHaveLandedRunsAtOnce() {
        commits.await(commits.heard(), Runnable::run, () -> ran.add("flushed"));
        assertThat(ran).containsExactly("flushed");
    }

    @Test
    void anEndReportedTwiceOrForAnUnknownNumberChangesNothing() {
        long one = commits.leaderCommitted();
        commits.followerEnded(one + 5);
        assertThat(commits.pending()).isOne();
        commits.followerEnded(one);
        commits.followerEnded(one);
        assertThat(commits.pending()).isZero();
    }

    @Test
    void givingUpDropsTheOverdueCommitsAndReleasesWhoWaitedForThem() {
        long one = commits.leaderCommitted();
        long two = commits.leaderCommitted();
        long three = commits.leaderCommitted();
        commits.await(one, Runnable::run, () -> ran.add("behind one"));
        commits.await(three, Runnable::run, () -> ran.add("behind three"));

        assertThat(commits.giveUp(two)).isEqualTo(2);
        assertThat(ran).containsExactly("behind one");
        assertThat(commits.landed(two)).isTrue();
        assertThat(commits.landed(three)).isFalse();

        commits.followerEnded(three);
        assertThat(ran).containsExactly("behind one", "behind three");
    }

    @Test
    void aWriteWaitsForTheLeaderCommitsSentBeforeItAndNotForLaterOnes() {
        long sentFirst = commits.leaderCommitSent();
        long sentBefore = commits.leaderCommitsSent();
        long sentLater = commits.leaderCommitSent();

        assertThat(commits.answered(sentBefore)).isFalse();
        commits.awaitAnswers(sentBefore, Runnable::run, () -> ran.add("sent " + commits.heard()));
        commits.leaderCommitAnswered(sentLater);
        assertThat(ran).as("the first COMMIT has not answered").isEmpty();

        long number = commits.leaderCommitted(); // the first one's answer: it committed
        commits.leaderCommitAnswered(sentFirst);
        assertThat(ran).as("the write goes, noting the commit it may have seen").containsExactly("sent " + number);
        assertThat(commits.landed(number)).as("and its follower waits for that commit").isFalse();
    }

    @Test
    void givingUpOnAnUnansweredLeaderCommitReleasesTheWriteAndForgetsIt() {
        long stuck = commits.leaderCommitSent();
        commits.awaitAnswers(stuck, Runnable::run, () -> ran.add("sent"));

        assertThat(commits.giveUpAnswers(stuck)).isOne();
        assertThat(ran).containsExactly("sent");
        assertThat(commits.answered(commits.leaderCommitsSent())).isTrue();
        commits.leaderCommitAnswered(stuck); // its answer, late: nothing waits
        commits.leaderCommitAnswered(0);
        assertThat(commits.answered(stuck)).isTrue();
    }

    @Test
    void aFollowerCommitWaitsForTheRunsOfWritesTheLeaderAnsweredBeforeItsCommitWasSent() {
        long answeredBefore = commits.followerRunStarted();
        long runsBefore = commits.followerRunsStarted(); // the COMMIT goes to the leader now
        long answeredAfter = commits.followerRunStarted();

        assertThat(commits.runsEnded(runsBefore)).isFalse();
        commits.awaitRuns(runsBefore, Runnable::run, () -> ran.add("follower COMMIT"));
        commits.followerRunEnded(answeredAfter);
        assertThat(ran).as("a write answered after the COMMIT was sent may have seen it: not waited for").isEmpty();

        commits.followerRunEnded(answeredBefore);
        assertThat(ran).containsExactly("follower COMMIT");
        commits.followerRunEnded(answeredBefore);
        assertThat(commits.giveUpRuns(commits.followerRunsStarted())).isZero();
    }

    @Test
    void aCommitWaitsForTheWritesSentBeforeItAndNotForLaterOnes() {
        long first = commits.leaderWriteSent();
        long upTo = commits.leaderWritesSent();
        long later = commits.leaderWriteSent();
        commits.awaitWrites(upTo, Runnable::run, () -> ran.add("commit sent"));

        commits.leaderWriteAnswered(later);
        assertThat(ran).as("the first write is still running on the leader").isEmpty();
        commits.leaderWriteAnswered(first);
        assertThat(ran).containsExactly("commit sent");
        assertThat(commits.writesAnswered(commits.leaderWritesSent())).isTrue();
    }

    /**
     * A COMMIT takes its ticket, then looks for writes in flight; a write takes its ticket, then looks for COMMITs in
     * flight. In every interleaving of the four steps at least one of the two finds the other, and waits.
     */
    @Test
    void ofAWriteAndACommitThatCrossAtLeastOneFindsTheOther() {
        List<String> orders = List.of("CcWw", "CWcw", "CWwc", "WCcw", "WCwc", "WwCc");
        for (String order : orders) {
            FollowerCommits both = new FollowerCommits();
            boolean commitWaits = false;
            boolean writeWaits = false;
            for (char step : order.toCharArray()) {
                switch (step) {
                    case 'C' -> both.leaderCommitSent();
                    case 'c' -> commitWaits = !both.writesAnswered(both.leaderWritesSent());
                    case 'W' -> both.leaderWriteSent();
                    default -> writeWaits = !both.answered(both.leaderCommitsSent());
                }
            }
            assertThat(commitWaits || writeWaits).as(order).isTrue();
        }
    }

    @Test
    void givingUpOnAWriteReleasesTheCommitAndLaterCommitsDoNotWaitForItAgain() {
        long held = commits.leaderWriteSent();
        long upTo = commits.leaderWritesSent();
        commits.awaitWrites(upTo, Runnable::run, () -> ran.add("commit sent"));

        assertThat(commits.giveUpWrites(upTo)).isOne();
        assertThat(ran).containsExactly("commit sent");
        assertThat(commits.writesAnswered(commits.leaderWritesSent())).as("forgotten").isTrue();
        commits.leaderWriteAnswered(held); // its late answer changes nothing
        assertThat(commits.giveUpWrites(upTo)).isZero();
    }
}
