// The names that cross process boundaries: every enum value has one name, and every name reads back as its value.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "sigma/contracts/env_names.hpp"
#include "sigma/contracts/ledger_event.hpp"
#include "sigma/contracts/node_name.hpp"
#include "sigma/contracts/preflight_level.hpp"
#include "sigma/contracts/verdicts.hpp"

namespace sigma {
namespace {

TEST(Contracts, LevelsReadBackAndCompareByStrength) {
  for (const auto level : {PreflightLevel::off, PreflightLevel::quick, PreflightLevel::standard,
                           PreflightLevel::extended}) {
    EXPECT_EQ(parse_level(level_name(level)), level);
  }
  EXPECT_EQ(level_name(PreflightLevel::standard), "standard");
  EXPECT_LT(PreflightLevel::off, PreflightLevel::quick);
  EXPECT_LT(PreflightLevel::standard, PreflightLevel::extended);
  EXPECT_FALSE(parse_level("Quick").has_value());
  EXPECT_FALSE(parse_level("").has_value());
}

TEST(Contracts, PrologVerdictsReadBackAndOnlyPassesLetAJobStart) {
  std::set<std::string> names;
  for (const auto verdict : {PrologVerdict::off, PrologVerdict::pass, PrologVerdict::cached, PrologVerdict::fail,
                             PrologVerdict::killed, PrologVerdict::error, PrologVerdict::over_cap,
                             PrologVerdict::none}) {
    EXPECT_EQ(parse_prolog_verdict(verdict_name(verdict)), verdict);
    names.insert(verdict_name(verdict));
    EXPECT_EQ(lets_job_start(verdict),
              verdict == PrologVerdict::off || verdict == PrologVerdict::pass || verdict == PrologVerdict::cached);
    EXPECT_EQ(is_node_fault(verdict), verdict == PrologVerdict::fail || verdict == PrologVerdict::killed);
  }
  EXPECT_EQ(names.size(), 8u);
  EXPECT_FALSE(parse_prolog_verdict("passed").has_value());
}

TEST(Contracts, TaskVerdictTextCarriesTheNodeAndAFailuresReason) {
  EXPECT_EQ(task_verdict_text("n3", TaskVerdict::skip), "n3|skip");
  EXPECT_EQ(task_verdict_text("n3", TaskVerdict::fail, "preflight exit 10"), "n3|fail:preflight exit 10");
  EXPECT_TRUE(task_verdict_failed(task_verdict_text("n3", TaskVerdict::fail, "x")));
  EXPECT_FALSE(task_verdict_failed(task_verdict_text("n3", TaskVerdict::pass)));
}

TEST(Contracts, EveryLedgerEventHasOneNameThatReadsBack) {
  const auto names = all_event_names();
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  for (const auto& name : names) EXPECT_EQ(event_name(*parse_event(name)), name);
  EXPECT_EQ(event_name(LedgerEvent::node_drained), "node_drained");
  EXPECT_EQ(event_name(LedgerEvent::ckpt_save_failed), "ckpt_save_failed");
  EXPECT_FALSE(parse_event("node_drain").has_value());
  EXPECT_EQ(component_name(Component::spank), "spank");
}

TEST(Contracts, TheNodeNameOverrideComesFirstThenSlurmsThenTheHost) {
  setenv(env::kNodeName, "override", 1);
  setenv(env::kSlurmNodeName, "n7", 1);
  EXPECT_EQ(this_node_name(), "override");
  unsetenv(env::kNodeName);
  EXPECT_EQ(this_node_name(), "n7");
  unsetenv(env::kSlurmNodeName);
  const std::string host = this_node_name();
  EXPECT_FALSE(host.empty());
  EXPECT_EQ(host.find('.'), std::string::npos);
}

}  // namespace
}  // namespace sigma
