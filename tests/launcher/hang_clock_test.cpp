// The supervisor's hang clock: start-up is held to policy.startup_timeout_s until every rank has beaten, then the
// step to policy.heartbeat_timeout_s from its newest heartbeat.
#include <gtest/gtest.h>

#include <algorithm>

#include "sigma/launcher/hang_clock.hpp"

namespace sigma::launch {
namespace {

PolicyConfig policy() {
  PolicyConfig p;
  p.heartbeat_timeout_s = 10;
  p.startup_timeout_s = 60;
  return p;
}

constexpr double kLaunch = 1000;

Heartbeat beat(int rank, long step, double time) { return {rank, step, time, "n1", 0}; }
Heartbeat beat_on(int rank, const std::string& node, double time, const std::string& attempt) {
  Heartbeat b{rank, 10, time, node, 0};
  b.attempt = attempt;
  return b;
}

TEST(HangClock, ASlowStartUpIsNotAHang) {
  // 30 s after the launch with no heartbeat yet: three heartbeat timeouts, but within the start-up bound.
  const HangCheck check = check_hang(policy(), kLaunch, 2, {}, kLaunch + 30);
  EXPECT_FALSE(check.hung);
  EXPECT_TRUE(check.starting);
  EXPECT_EQ(check.not_started, (std::vector<int>{0, 1}));
  EXPECT_DOUBLE_EQ(check.bound_s, 60);
}

TEST(HangClock, AStepThatNeverStartsIsCaughtByTheStartUpBound) {
  const HangCheck check = check_hang(policy(), kLaunch, 2, {}, kLaunch + 60);
  EXPECT_TRUE(check.hung);
  EXPECT_TRUE(check.starting);
  EXPECT_EQ(check.reason(), "no first heartbeat from rank(s) 0,1 60s after the launch (policy.startup_timeout_s: 60)");
}

TEST(HangClock, ARankThatNeverStartsIsCaughtWhileOthersBeat) {
  // Ranks 0-2 beat on (nothing couples them to rank 3), rank 3 never started: start-up still applies to it.
  const double t = kLaunch + 64;
  const std::vector<Heartbeat> beats = {beat(0, 40, t), beat(1, 40, t), beat(2, 40, t)};
  EXPECT_FALSE(check_hang(policy(), kLaunch, 4, beats, kLaunch + 59).hung);
  const HangCheck check = check_hang(policy(), kLaunch, 4, beats, kLaunch + 65);
  EXPECT_TRUE(check.hung);
  EXPECT_EQ(check.not_started, std::vector<int>{3});
  EXPECT_EQ(check.reason(), "no first heartbeat from rank(s) 3 65s after the launch (policy.startup_timeout_s: 60)");
}

TEST(HangClock, OnceEveryRankBeatsTheHeartbeatTimeoutApplies) {
  // Start-up took 50 s (within its bound); then no progress for 9 s is fine and 10 s is a hang.
  const std::vector<Heartbeat> beats = {beat(0, 3, kLaunch + 50), beat(1, 3, kLaunch + 49)};
  EXPECT_FALSE(check_hang(policy(), kLaunch, 2, beats, kLaunch + 59).hung);
  const HangCheck check = check_hang(policy(), kLaunch, 2, beats, kLaunch + 60);
  EXPECT_TRUE(check.hung);
  EXPECT_FALSE(check.starting);
  EXPECT_DOUBLE_EQ(check.waited_s, 10);
  EXPECT_EQ(check.reason(), "no heartbeat progress for 10s (policy.heartbeat_timeout_s: 10)");
}

TEST(HangClock, TheNewestHeartbeatOfAnyRankIsProgress) {
  // Rank 1's own beat is old, but rank 0 beat recently: a collective would have stalled it, so the step moves.
  const std::vector<Heartbeat> beats = {beat(0, 9, kLaunch + 200), beat(1, 8, kLaunch + 150)};
  EXPECT_FALSE(check_hang(policy(), kLaunch, 2, beats, kLaunch + 205).hung);
}

TEST(HangClock, ManyRanksNotStartedAreNamedBriefly) {
  const HangCheck check = check_hang(policy(), kLaunch, 4096, {}, kLaunch + 61);
  EXPECT_EQ(check.not_started.size(), 4096u);
  EXPECT_EQ(check.reason(),
            "no first heartbeat from rank(s) 0,1,2,3,4,5,6,7,... 61s after the launch (policy.startup_timeout_s: 60)");
}

// --beats liveness: a program that calls start() but never beat() is held to the start-up bound by its liveness
// beats, and then to nothing here (liveness_watch.hpp judges its silent ranks).
TEST(LivenessStart, ARankWithoutAFirstLivenessBeatIsCaughtByTheStartUpBound) {
  const std::vector<Liveness> alive = {{0, kLaunch + 5, "n1"}};
  EXPECT_FALSE(check_liveness_start(policy(), kLaunch, 2, alive, kLaunch + 59).hung);
  const HangCheck check = check_liveness_start(policy(), kLaunch, 2, alive, kLaunch + 60);
  EXPECT_TRUE(check.hung);
  EXPECT_EQ(check.not_started, std::vector<int>{1});
  EXPECT_EQ(check.reason(),
            "no first liveness beat from rank(s) 1 60s after the launch (policy.startup_timeout_s: 60)");
}

TEST(LivenessStart, NoProgressBeatsAreNoHangOnceEveryRankBeatsLiveness) {
  // An hour after the launch, with no progress beat ever: the progress clock would call it hung long ago.
  const std::vector<Liveness> alive = {{0, kLaunch + 5, "n1"}, {1, kLaunch + 6, "n2"}};
  const HangCheck check = check_liveness_start(policy(), kLaunch, 2, alive, kLaunch + 3600);
  EXPECT_FALSE(check.hung);
  EXPECT_FALSE(check.starting);
  EXPECT_TRUE(check_hang(policy(), kLaunch, 2, {}, kLaunch + 3600).hung);
}

TEST(AttemptBeats, BeatsOfAnotherAttemptOrFromBeforeTheLaunchAreIgnored) {
  // A frozen node's rank of attempt 1 thaws after attempt 2 launched at kLaunch (the fault was detected 5 s
  // before): it finishes a beat whose time it took before it froze, then writes new ones, all for attempt 1.
  const double detected = kLaunch - 5;
  const std::vector<Heartbeat> beats = {beat_on(1, "n2", kLaunch - 40, "9.1"), beat_on(1, "n2", kLaunch + 1, "9.1"),
                                        beat_on(0, "n1", kLaunch - 1, "9.2"), beat_on(0, "n1", kLaunch + 3, "9.2"),
                                        beat_on(1, "n3", kLaunch + 4, "9.2")};
  const auto ours = beats_of_attempt(beats, "9.2", kLaunch);
  ASSERT_EQ(ours.size(), 2u);
  double first_beat = ours[0].time;
  for (const auto& b : ours) {
    EXPECT_EQ(b.attempt, "9.2");
    first_beat = std::min(first_beat, b.time);
  }
  EXPECT_DOUBLE_EQ(first_beat, kLaunch + 3);
  EXPECT_GE(first_beat - detected, 0);  // the recovery time the ledger records
  // Without the filter the thawed rank's beat would have made it 35 s before the fault was detected.
  EXPECT_LT(beats[0].time - detected, 0);
}

// The liveness check of a step of `ranks` ranks whose records were each seen once, when written, and not since.
LivenessCheck silent_since(const std::vector<Liveness>& last, int ranks, double now) {
  LivenessWatch watch(3, ranks);
  for (const auto& alive : last) watch.observe({alive}, alive.time);
  return watch.check(now);
}

TEST(HeartbeatDirFault, AFailedProbeIsTheDirectorysFault) {
  const auto fault = heartbeat_dir_fault("/run/hb", "/run/hb/.sigma-probe.7: write failed: No space left on device",
                                         {}, {});
  EXPECT_EQ(fault, "heartbeat directory /run/hb not writable: /run/hb/.sigma-probe.7: write failed: No space left "
                   "on device");
}

TEST(HeartbeatDirFault, EveryRankSilentAtOnceOnSeveralNodesIsTheDirectorysFault) {
  const double now = kLaunch + 100;
  const auto both = silent_since({{0, now - 15, "n1"}, {1, now - 14, "n2"}}, 2, now);
  const auto fault = heartbeat_dir_fault("/hb", "", {}, both);
  EXPECT_EQ(fault.rfind("heartbeat directory /hb not writable: no liveness beat from any of the 2 ranks on 2 nodes "
                        "for 14s", 0), 0u) << fault;
  // One frozen rank: the other still beats, so a node is to blame.
  EXPECT_EQ(heartbeat_dir_fault("/hb", "", {}, silent_since({{0, now - 0.5, "n1"}, {1, now - 14, "n2"}}, 2, now)), "");
  // Liveness that names no node: the progress beats place the ranks.
  const std::vector<Heartbeat> two_nodes = {beat_on(0, "n1", now - 20, "a"), beat_on(1, "n2", now - 20, "a")};
  const auto unnamed = silent_since({{0, now - 15}, {1, now - 15}}, 2, now);
  EXPECT_EQ(heartbeat_dir_fault("/hb", "", {}, unnamed), "");
  EXPECT_NE(heartbeat_dir_fault("/hb", "", two_nodes, unnamed), "");
  // Every rank on one node silent: that node's processes are frozen or gone, evidence about it.
  EXPECT_EQ(heartbeat_dir_fault("/hb", "", {}, silent_since({{0, now - 15, "n1"}, {1, now - 15, "n1"}}, 2, now)), "");
  // A rank not seen beating yet (still starting): not every rank is silent.
  EXPECT_EQ(heartbeat_dir_fault("/hb", "", {}, silent_since({{0, now - 15, "n1"}, {1, now - 15, "n2"}}, 3, now)), "");
  // No rank has beaten yet (start-up): nothing says where they run, only the probe can tell.
  EXPECT_EQ(heartbeat_dir_fault("/hb", "", {}, silent_since({}, 2, now)), "");
}

}  // namespace
}  // namespace sigma::launch
