// How the supervisor ends after a stop signal saved the step: a requeue request, or the end Slurm asked for.
#include <gtest/gtest.h>

#include "sigma/launcher/stop_ending.hpp"

using sigma::launch::StopEnding;
using sigma::launch::stop_ending;
using sigma::launch::stopped_step;

TEST(StopEnding, Usr1AsksForARequeue) { EXPECT_EQ(stop_ending(true, false), StopEnding::requeue); }

TEST(StopEnding, TermAloneIsSlurmEndingTheJob) { EXPECT_EQ(stop_ending(false, true), StopEnding::terminated); }

TEST(StopEnding, TermAfterUsr1KeepsTheRequeue) { EXPECT_EQ(stop_ending(true, true), StopEnding::requeue); }

TEST(StopEnding, NoSignalSeenIsARequeueAsBefore) { EXPECT_EQ(stop_ending(false, false), StopEnding::requeue); }

// After a forwarded stop signal the step's end never leads to a restart: saved or not, the job stops.
TEST(StoppedStep, Exit42IsTheStateSaved) { EXPECT_EQ(stopped_step(42, 0), "stop signal: state saved"); }

TEST(StoppedStep, AProgramWithoutAStopHandlerKilledByTheSignalStopsTheJobToo) {
  EXPECT_EQ(stopped_step(0, 10), "stop signal: the step was killed by signal 10 without saving");
}

TEST(StoppedStep, AFailureWhileSavingStopsTheJob) {
  EXPECT_EQ(stopped_step(1, 0), "stop signal: the step exited 1 without saving");
}

TEST(StoppedStep, AStepThatCompletedIsNoStop) { EXPECT_EQ(stopped_step(0, 0), ""); }
