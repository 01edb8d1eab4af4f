// The supervisor's hang clock: start-up is held to policy.startup_timeout_s until every rank has beaten, then the
// step to policy.heartbeat_timeout_s from its newest heartbeat.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sigma::launch
