// The job prolog's logic with the real sigma-healthcheck: pass, cache, fail, a hung healthcheck, the requeue cap,
// and the verdict each leaves for the job's steps. (Draining cannot reach a Slurm controller here: SLURM_CONF is
// not set, so the healthcheck only reports the failed drain; the cluster tests drain for real.)
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "sigma/contracts/ledger.hpp"
#include "sigma/policy/node_drains.hpp"
#include "sigma/healthcheck/preflight_process.hpp"
#include "sigma/policy/validated_nodes.hpp"
#include "sigma/spank/job_verdict.hpp"
#include "sigma/spank/prolog.hpp"
#include "sigma/spank/step_setup.hpp"
#include "spank_test_env.hpp"

using namespace sigma;
using namespace sigma::spank;
using sigma::spank::test::ScratchSite;

namespace {

PrologContext prolog_for(const std::string& config, const std::string& job, RawOptions options) {
  PrologContext context;
  context.plugin_args = {"config=" + config};
  context.options = std::move(options);
  context.node = "n1";
  context.job_id = job;
  return context;
}

StepContext step_for(const std::string& config, const std::string& job, RawOptions options, bool batch = true) {
  StepContext context;
  context.plugin_args = {"config=" + config};
  context.options = std::move(options);
  context.node = "n1";
  context.job_id = job;
  context.batch_step = batch;
  return context;
}

JobVerdict verdict_of(const ScratchSite& site, const std::string& job) {
  StateDir state(site.state_dir());
  return read_job_verdict(state, job, "n1").value();
}

std::vector<std::string> ledger_events(const ScratchSite& site) {
  std::vector<std::string> names;
  for (const auto& e : read_ledger(site.ledger()).events) names.push_back(e.at("event"));
  return names;
}

RawOptions preflight(const std::string& level) { return {level, std::nullopt, false}; }

class Prolog : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::running_as_root()) GTEST_SKIP() << "the prolog's logic runs as root";
    unsetenv("SLURM_CONF");
  }
  ScratchSite site;
};

}  // namespace

TEST_F(Prolog, PassIsRecordedThenReusedWithinTheTtl) {
  const auto config = site.write_config();
  const PrologOutcome first = run_job_prolog(prolog_for(config, "11", preflight("quick")));
  EXPECT_TRUE(first.allow) << first.message;
  EXPECT_EQ(verdict_of(site, "11").verdict, PrologVerdict::pass);
  EXPECT_EQ(verdict_of(site, "11").level, PreflightLevel::quick);

  const PrologOutcome second = run_job_prolog(prolog_for(config, "12", preflight("quick")));
  EXPECT_TRUE(second.allow) << second.message;
  EXPECT_EQ(verdict_of(site, "12").verdict, PrologVerdict::cached);

  // A stronger level than the one that passed is burned in; --sigma-fresh ignores the cache.
  run_job_prolog(prolog_for(config, "13", preflight("extended")));
  EXPECT_EQ(verdict_of(site, "13").verdict, PrologVerdict::pass);
  run_job_prolog(prolog_for(config, "14", {std::string("quick"), std::nullopt, true}));
  EXPECT_EQ(verdict_of(site, "14").verdict, PrologVerdict::pass);

  const StepSetup step = prepare_step(step_for(config, "12", preflight("quick")));
  EXPECT_EQ(step.refusal, "");
  EXPECT_NE(std::find(step.env.begin(), step.env.end(), std::pair<std::string, std::string>{"SIGMA_PREFLIGHT_VERDICT", "cached"}),
            step.env.end());
  EXPECT_NE(std::find(step.env.begin(), step.env.end(), std::pair<std::string, std::string>{"SIGMA_LEDGER", site.ledger()}),
            step.env.end());
}

TEST_F(Prolog, NoOptionMeansNoBurnIn) {
  const auto config = site.write_config("  fault_injection: {enabled: true, crash_check: gemm}\n");
  const PrologOutcome outcome = run_job_prolog(prolog_for(config, "20", {}));
  EXPECT_TRUE(outcome.allow);
  EXPECT_EQ(verdict_of(site, "20").verdict, PrologVerdict::off);
  EXPECT_EQ(prepare_step(step_for(config, "20", {})).refusal, "");
}

TEST_F(Prolog, AFailingCheckFailsTheProlog) {
  const auto config = site.write_config("  fault_injection: {enabled: true, gemm_bitflip_rate: 0.01}\n");
  StateDir state(site.state_dir());
  record_node_passed(state, "n1", "extended", now_seconds() - 10'000);  // stale: older than the TTL
  const PrologOutcome outcome = run_job_prolog(prolog_for(config, "30", preflight("quick")));
  EXPECT_FALSE(outcome.allow);
  EXPECT_NE(outcome.message.find("sigma: gemm sdc"), std::string::npos) << outcome.message;
  EXPECT_EQ(verdict_of(site, "30").verdict, PrologVerdict::fail);
  EXPECT_FALSE(node_validation(state, "n1").has_value());  // a failure forgets the node's last pass
  const StepSetup step = prepare_step(step_for(config, "30", preflight("quick")));
  EXPECT_NE(step.refusal.find("no passing preflight quick"), std::string::npos) << step.refusal;
}

TEST_F(Prolog, FaultInjectionAppliesOnlyToTheNodesItNames) {
  const auto config = site.write_config("  fault_injection: {enabled: true, gemm_bitflip_rate: 0.01, nodes: 'n[2-4]'}\n");
  EXPECT_TRUE(run_job_prolog(prolog_for(config, "31", preflight("quick"))).allow);
}

TEST_F(Prolog, AHungHealthcheckIsKilledAtTheBudget) {
  const auto config = site.write_config("", "", site.write_hanging_program(), 3);
  const auto start = std::chrono::steady_clock::now();
  const PrologOutcome outcome = run_job_prolog(prolog_for(config, "40", preflight("quick")));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_FALSE(outcome.allow);
  EXPECT_EQ(verdict_of(site, "40").verdict, PrologVerdict::killed);
  EXPECT_GE(seconds, 3);  // quick's budget here
  EXPECT_LT(seconds, 3 + kHealthcheckStartGrace_s + 10);  // a kill, not a wait for the program's 60 s
  const auto events = ledger_events(site);
  EXPECT_NE(std::find(events.begin(), events.end(), "preflight_killed"), events.end());
}

TEST_F(Prolog, OverTheRequeueCapTheBatchStepRefusesAndTheNodeStays) {
  const auto config = site.write_config();
  PrologContext context = prolog_for(config, "50", {std::string("quick"), std::string("1"), false});
  context.restart_count = 2;
  const PrologOutcome outcome = run_job_prolog(context);
  EXPECT_TRUE(outcome.allow);  // the job's fault, not the node's: no drain
  EXPECT_EQ(verdict_of(site, "50").verdict, PrologVerdict::over_cap);
  const StepSetup batch = prepare_step(step_for(config, "50", {std::string("quick"), std::string("1"), false}));
  EXPECT_NE(batch.refusal.find("requeued 2 times, more than its cap of 1"), std::string::npos) << batch.refusal;
  const StepSetup other = prepare_step(step_for(config, "50", {std::string("quick"), std::string("1"), false}, false));
  EXPECT_EQ(other.refusal, "");
  const auto events = ledger_events(site);
  EXPECT_NE(std::find(events.begin(), events.end(), "requeue_cap_reached"), events.end());

  context.restart_count = 1;  // at the cap, not over it
  context.job_id = "51";
  run_job_prolog(context);
  EXPECT_EQ(verdict_of(site, "51").verdict, PrologVerdict::pass);
}

TEST_F(Prolog, ALongNodeNameStillGetsAVerdictAndTheCap) {
  // 60 characters: with the job id, longer than a 64-character record name.
  const std::string node = "compute-rack-17-chassis-04-blade-09-socket-1-gpu-node-123456";
  ASSERT_EQ(node.size(), 60u);
  const auto config = site.write_config();
  PrologContext context = prolog_for(config, "4294967294", {std::string("quick"), std::string("1"), false});
  context.node = node;
  context.restart_count = 2;
  const PrologOutcome outcome = run_job_prolog(context);
  EXPECT_TRUE(outcome.allow);
  EXPECT_NE(outcome.message.find("was requeued 2 times"), std::string::npos) << outcome.message;
  StateDir state(site.state_dir());
  EXPECT_EQ(read_job_verdict(state, "4294967294", node).value().verdict, PrologVerdict::over_cap);
  StepContext step = step_for(config, "4294967294", {std::string("quick"), std::string("1"), false});
  step.node = node;
  const StepSetup batch = prepare_step(step);
  EXPECT_NE(batch.refusal.find("requeued 2 times, more than its cap of 1"), std::string::npos) << batch.refusal;
}

TEST_F(Prolog, MissingSiteConfigFailsClosedOnlyForJobsThatAskedForPreflight) {
  const std::string missing = site.dir() + "/absent.yaml";
  EXPECT_TRUE(run_job_prolog(prolog_for(missing, "60", preflight("quick"))).allow);  // no drain for an admin error
  const StepSetup asked = prepare_step(step_for(missing, "60", preflight("quick")));
  EXPECT_NE(asked.refusal.find("preflight cannot run on n1"), std::string::npos) << asked.refusal;
  EXPECT_NE(asked.refusal.find("absent.yaml"), std::string::npos) << asked.refusal;
  EXPECT_EQ(prepare_step(step_for(missing, "60", {})).refusal, "");
}

TEST_F(Prolog, AUserWritableConfigIsRefused) {
  const auto config = site.write_config();
  chmod(config.c_str(), 0666);
  EXPECT_TRUE(run_job_prolog(prolog_for(config, "70", preflight("quick"))).allow);
  const StepSetup step = prepare_step(step_for(config, "70", preflight("quick")));
  EXPECT_NE(step.refusal.find("must be owned by root and not group/world-writable"), std::string::npos)
      << step.refusal;
}

TEST_F(Prolog, BadValuesNeverFailTheProlog) {
  const auto config = site.write_config();
  const PrologOutcome outcome = run_job_prolog(prolog_for(config, "80", preflight("bogus")));
  EXPECT_TRUE(outcome.allow);  // failing would drain the node for a user's typo
  EXPECT_NE(outcome.message.find("--sigma-preflight"), std::string::npos);
  const StepSetup step = prepare_step(step_for(config, "80", preflight("bogus")));
  EXPECT_NE(step.refusal.find("--sigma-preflight: expected"), std::string::npos) << step.refusal;
}

TEST_F(Prolog, HostileNodeOrJobNamesNeverBecomePaths) {
  const auto config = site.write_config();
  PrologContext context = prolog_for(config, "../../etc", preflight("quick"));
  EXPECT_TRUE(run_job_prolog(context).allow);
  EXPECT_FALSE(std::filesystem::exists(site.dir() + "/etc"));
  const StepSetup step = prepare_step(step_for(config, "../x", preflight("quick")));
  EXPECT_NE(step.refusal, "");
}

TEST_F(Prolog, ABadPlugstackArgumentNeverFailsTheProlog) {
  const auto config = site.write_config();
  PrologContext context = prolog_for(config, "90", preflight("quick"));
  context.plugin_args.push_back("min_level=Quick");
  const PrologOutcome outcome = run_job_prolog(context);
  EXPECT_TRUE(outcome.allow) << "failing would drain every node for the admin's typo";
  EXPECT_NE(outcome.message.find("min_level=Quick"), std::string::npos) << outcome.message;
  // The site asked for a floor it misspelt: every job fails closed, with the reason.
  StepContext step = step_for(config, "90", {});
  step.plugin_args.push_back("min_level=Quick");
  const StepSetup plain = prepare_step(step);
  EXPECT_NE(plain.refusal.find("plugstack.conf: sigma: \"min_level=Quick\""), std::string::npos) << plain.refusal;
  // Any other bad argument: only jobs that asked for preflight refuse; the others are told.
  step.plugin_args.back() = "verbose";
  EXPECT_EQ(prepare_step(step).refusal, "");
  EXPECT_NE(prepare_step(step).warning.find("plugstack.conf"), std::string::npos);
  step.options = preflight("quick");
  EXPECT_NE(prepare_step(step).refusal.find("preflight cannot run on n1"), std::string::npos);
}

TEST_F(Prolog, ABrokenSiteConfigReachesJobsThatDidNotAskForPreflight) {
  const std::string missing = site.dir() + "/absent.yaml";
  const StepSetup plain = prepare_step(step_for(missing, "91", {}));
  EXPECT_EQ(plain.refusal, "");
  EXPECT_NE(plain.warning.find("sigma: warning: n1: " + missing + ": cannot open site config"), std::string::npos)
      << plain.warning;
  // A working config leaves nothing to warn about.
  const auto config = site.write_config();
  run_job_prolog(prolog_for(config, "92", {}));
  EXPECT_EQ(prepare_step(step_for(config, "92", {})).warning, "");
}

TEST_F(Prolog, AnUnusableStateDirectoryIsInTheLedgerAndTheJobsOutput) {
  const auto config = site.write_config();
  std::ofstream(site.state_dir()) << "not a directory\n";
  EXPECT_TRUE(run_job_prolog(prolog_for(config, "93", {})).allow);
  const auto events = ledger_events(site);
  EXPECT_NE(std::find(events.begin(), events.end(), "prolog_error"), events.end());
  const StepSetup step = prepare_step(step_for(config, "93", {}));
  EXPECT_EQ(step.refusal, "");
  EXPECT_NE(step.warning.find(site.state_dir()), std::string::npos) << step.warning;
}

TEST_F(Prolog, ARecentlyDrainedNodeIsNotVouchedForByACachedPass) {
  const auto config = site.write_config();
  StateDir state(site.state_dir());
  record_node_passed(state, "n1", "extended", now_seconds());
  run_job_prolog(prolog_for(config, "94", preflight("quick")));
  EXPECT_EQ(verdict_of(site, "94").verdict, PrologVerdict::cached);
  record_node_drain(state, "n1", now_seconds() - 60);  // an intermittent fault an hour's window still remembers
  run_job_prolog(prolog_for(config, "95", preflight("quick")));
  EXPECT_EQ(verdict_of(site, "95").verdict, PrologVerdict::pass);
}
