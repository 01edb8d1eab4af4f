// The supervisor's liveness decision without a cluster: a rank silent for policy.liveness_timeout_s while another
// beats on is lost (its node to blame); every rank silent at once is left to the heartbeat directory's judgement;
// a rank not seen yet is start-up's business. Times are those at which the supervisor saw each record change.
#include <gtest/gtest.h>

#include "sigma/launcher/liveness_watch.hpp"

namespace sigma::launch {
namespace {

constexpr double kT = 1000;  // the supervisor's clock at the first look

// Two ranks on n1 and n2 beating once a second from kT; rank 1 stops after its beat at `stops_at` when set.
// Looks every quarter second until `until`, as the supervisor polls, and returns the first check that is not fine
// (or the last one).
LivenessCheck watch_two(double timeout_s, double stops_at, double until, double* decided_at = nullptr) {
  LivenessWatch watch(timeout_s, 2);
  LivenessCheck check;
  for (double now = kT; now <= until + 1e-9; now += 0.25) {
    const double beat = kT + static_cast<long>(now - kT);  // each rank's newest record: written on the second
    watch.observe({{0, beat, "n1"}, {1, std::min(beat, stops_at), "n2"}}, now);
    check = watch.check(now);
    if (check.lost || check.every_silent) {
      if (decided_at != nullptr) *decided_at = now;
      return check;
    }
  }
  return check;
}

TEST(LivenessWatch, ARankThatStopsBeatingIsLostWithinTheTimeout) {
  double decided = 0;
  const LivenessCheck check = watch_two(3, kT + 10, kT + 30, &decided);
  ASSERT_TRUE(check.lost);
  EXPECT_FALSE(check.every_silent);
  EXPECT_EQ(check.rank, 1);
  EXPECT_EQ(check.node, "n2");
  // Its last record was seen at kT + 10; silent for more than 3 s is lost, and within a poll of that.
  EXPECT_GT(decided, kT + 13);
  EXPECT_LE(decided, kT + 13.25);
  EXPECT_DOUBLE_EQ(check.silent_s, 3.25);
}

TEST(LivenessWatch, ALostRankIsNamedWithItsNodeAndTheBound) {
  LivenessWatch watch(3, 2);
  watch.observe({{0, 1, "n1"}, {1, 1, "n2"}}, kT);
  watch.observe({{0, 3, "n1"}, {1, 1, "n2"}}, kT + 2);
  const LivenessCheck check = watch.check(kT + 3.4);
  ASSERT_TRUE(check.lost);
  EXPECT_EQ(check.evidence(), "rank 1 on n2: no liveness beat for 3.4s");
  EXPECT_EQ(check.reason(), "rank 1 on n2: no liveness beat for 3.4s while the other ranks beat on "
                            "(policy.liveness_timeout_s: 3): its process or node is lost");
}

TEST(LivenessWatch, RanksThatBeatAreNeverLost) {
  const LivenessCheck check = watch_two(2, kT + 1000, kT + 60);
  EXPECT_FALSE(check.lost);
  EXPECT_FALSE(check.every_silent);
  EXPECT_EQ(check.seen, 2);
  EXPECT_EQ(check.nodes, (std::set<std::string>{"n1", "n2"}));
}

TEST(LivenessWatch, TheTimeoutIsTheSitesPolicy) {
  double decided = 0;
  ASSERT_TRUE(watch_two(10, kT + 5, kT + 60, &decided).lost);
  EXPECT_GT(decided, kT + 15);
  EXPECT_LE(decided, kT + 15.25);
}

TEST(LivenessWatch, TheWritersClockDoesNotMatter) {
  // Rank 1's node runs 30 s behind: its records look old, but they change every second, so it is alive.
  LivenessWatch watch(3, 2);
  for (double now = kT; now < kT + 20; now += 0.5) {
    const double beat = kT + static_cast<long>(now - kT);
    watch.observe({{0, beat, "n1"}, {1, beat - 30, "n2"}}, now);
    const LivenessCheck check = watch.check(now);
    EXPECT_FALSE(check.lost || check.every_silent) << "at " << now - kT;
  }
}

TEST(LivenessWatch, ASilentRankIsNotLostUntilAnotherBeatWellAfterIt) {
  // The directory stops taking writes at kT + 5.5: rank 0's last beat landed at kT + 5, rank 1's at kT + 4 (its
  // beat at 5 was slow and failed). Rank 1 is silent first, but no rank beat two periods after it.
  LivenessWatch watch(3, 2);
  watch.observe({{0, kT + 4, "n1"}, {1, kT + 4, "n2"}}, kT + 4);
  watch.observe({{0, kT + 5, "n1"}, {1, kT + 4, "n2"}}, kT + 5);
  LivenessCheck check = watch.check(kT + 7.5);
  EXPECT_FALSE(check.lost);
  EXPECT_FALSE(check.every_silent);
  // Then rank 0 is silent too: every rank at once, for the directory's judgement (two nodes: its fault).
  check = watch.check(kT + 8.4);
  EXPECT_FALSE(check.lost);
  EXPECT_TRUE(check.every_silent);
  EXPECT_EQ(check.node, "");
  EXPECT_NEAR(check.silent_s, 3.4, 1e-9);
  EXPECT_EQ(check.reason(), "no liveness beat from any of the 2 ranks (2 node(s)) for 3.4s (policy.liveness_timeout_s: 3)");
}

TEST(LivenessWatch, EveryRankOfOneNodeSilentNamesThatNode) {
  LivenessWatch watch(3, 2);
  watch.observe({{0, 1, "n4"}, {1, 1, "n4"}}, kT);
  const LivenessCheck check = watch.check(kT + 3.5);
  EXPECT_TRUE(check.every_silent);
  EXPECT_EQ(check.node, "n4");
}

TEST(LivenessWatch, ARankNotSeenYetIsLeftToTheStartUpBound) {
  // Rank 1 never beat (still loading): rank 0 silent alone is not "every rank", and rank 1 is not judged.
  LivenessWatch watch(3, 2);
  watch.observe({{0, 1, "n1"}}, kT);
  const LivenessCheck check = watch.check(kT + 60);
  EXPECT_FALSE(check.lost);
  EXPECT_FALSE(check.every_silent);
  EXPECT_EQ(check.seen, 1);
  EXPECT_FALSE(LivenessWatch(3, 2).check(kT).lost);
}

TEST(LivenessWatch, ALostRankWithoutANodeIsStillLost) {
  // Liveness written outside Slurm names no node: the supervisor places it by its progress beat.
  LivenessWatch watch(3, 2);
  for (double now = kT; now <= kT + 6; now += 0.25) {
    const double beat = kT + static_cast<long>(now - kT);
    watch.observe({{0, beat}, {1, kT}}, now);
  }
  const LivenessCheck check = watch.check(kT + 6);
  EXPECT_TRUE(check.lost);
  EXPECT_EQ(check.rank, 1);
  EXPECT_EQ(check.node, "");
  EXPECT_EQ(check.evidence(), "rank 1: no liveness beat for 6.0s");
}

}  // namespace
}  // namespace sigma::launch
