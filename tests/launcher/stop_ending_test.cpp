// How the supervisor ends after a stop signal saved the step: a requeue request, or the end Slurm asked for.
#include <gtest/gtest.h>

#include "sigma/launcher/stop_ending.hpp"

using sigma::launch::StopEnding;
using sigma::launch::stop_ending;

TEST(StopEnding, Usr1AsksForARequeue) { EXPECT_EQ(stop_ending(true, false), StopEnding::requeue); }

TEST(StopEnding, TermAloneIsSlurmEndingTheJob) { EXPECT_EQ(stop_ending(false, true), StopEnding::terminated); }

TEST(StopEnding, TermAfterUsr1KeepsTheRequeue) { EXPECT_EQ(stop_ending(true, true), StopEnding::requeue); }

TEST(StopEnding, NoSignalSeenIsARequeueAsBefore) { EXPECT_EQ(stop_ending(false, false), StopEnding::requeue); }
