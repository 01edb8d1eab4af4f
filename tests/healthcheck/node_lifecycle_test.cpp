// What a verdict does to the node, against a simulated slurmctld: an admin's drain during a burn-in is never
// undone or overwritten, a flapping node is held for a human, a re-drain restarts the hold-off, and throughput on
// a shared node neither drains it nor leaves a cached pass. (tests/spank-plugin/recycle_admin_drain.sh does the first on
// the local cluster.)
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "sigma/contracts/ledger.hpp"
#include "sigma/policy/node_drains.hpp"
#include "sigma/policy/validated_nodes.hpp"
#include "sigma/healthcheck/node_lifecycle.hpp"

namespace sigma::hc {
namespace {

// One node as slurmctld keeps it: an update with the reason it already has keeps its reason time.
struct FakeSlurm {
  NodeStatus node;
  std::vector<std::string> drains;
  int resumes = 0;

  void admin_drain(const std::string& reason) {
    node.drain = true;
    node.reason = reason;
    node.reason_time += 1;  // a later second than the drain it replaces
  }
  NodeControl control() {
    NodeControl c;
    c.query = [this](const std::string&) { return node; };
    c.drain = [this](const std::string&, const std::string& reason) {
      drains.push_back(reason);
      if (!node.drain || node.reason != reason) {
        node.reason = reason;
        node.reason_time = std::floor(now_seconds());
      }
      node.drain = true;
    };
    c.resume = [this](const std::string&) {
      ++resumes;
      node = {};
    };
    return c;
  }
};

RunReport report(ExitCode code, const std::string& reason = "") {
  RunReport r;
  r.exit_code = code;
  r.reason = reason;
  return r;
}

class Lifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "the state directory is root's";
    char pattern[] = "/tmp/sigma-lifecycle-test.XXXXXX";
    dir_ = mkdtemp(pattern);
    chmod(dir_.c_str(), 0755);
    config_ = default_site_config();
    config_.paths.state_dir = dir_ + "/state";
    config_.paths.ledger = dir_ + "/events.jsonl";
    config_.preflight.recycle.hold_off_s = 0;
    config_.preflight.recycle.level = "quick";
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // A sigma drain some time ago, as the job prolog's healthcheck leaves it.
  void drained_by_sigma(const std::string& reason, double ago_s) {
    slurm_.node = {true, false, reason, std::floor(now_seconds() - ago_s)};
  }
  ExitCode nhc(const RunLevel& run) { return nhc_node(config_, "n1", "quick", run, slurm_.control()); }
  ExitCode preflight(const RunLevel& run, Throughput t = Throughput::judged) {
    return preflight_node(config_, "n1", "quick", run, t, slurm_.control());
  }
  bool logged(const std::string& name) const {
    for (const auto& e : read_ledger(config_.paths.ledger).events) {
      if (e.value("event", "") == name) return true;
    }
    return false;
  }
  bool cached() const {
    StateDir state(config_.paths.state_dir);
    return node_validation(state, "n1").has_value();
  }

  std::string dir_;
  SiteConfig config_;
  FakeSlurm slurm_;
};

TEST_F(Lifecycle, APassingRecycleResumesTheNode) {
  drained_by_sigma("sigma: gemm sdc 3/4096", 10);
  EXPECT_EQ(nhc([](const std::string&, Throughput) { return report(ExitCode::ok); }), ExitCode::ok);
  EXPECT_EQ(slurm_.resumes, 1);
  EXPECT_TRUE(logged("node_resumed"));
}

TEST_F(Lifecycle, AnAdminDrainDuringAPassingBurnInIsNotResumed) {
  drained_by_sigma("sigma: gemm sdc 3/4096", 10);
  nhc([&](const std::string&, Throughput) {
    slurm_.admin_drain("replacing DIMM, do not resume");
    return report(ExitCode::ok);
  });
  EXPECT_EQ(slurm_.resumes, 0);
  EXPECT_TRUE(slurm_.node.drain);
  EXPECT_EQ(slurm_.node.reason, "replacing DIMM, do not resume");
  EXPECT_TRUE(logged("node_recycle_abandoned"));
  EXPECT_FALSE(cached());
}

TEST_F(Lifecycle, AnAdminDrainDuringAFailingBurnInKeepsTheAdminsReason) {
  drained_by_sigma("sigma: gemm sdc 3/4096", 10);
  nhc([&](const std::string&, Throughput) {
    slurm_.admin_drain("replacing DIMM, do not resume");
    return report(ExitCode::node_hardware, "sigma: membw slow copy_gbs 50%");
  });
  EXPECT_TRUE(slurm_.drains.empty());
  EXPECT_EQ(slurm_.node.reason, "replacing DIMM, do not resume");
}

TEST_F(Lifecycle, AnAdminRedrainWithASigmaLookingReasonIsNotResumedEither) {
  drained_by_sigma("sigma: gemm sdc 3/4096", 10);
  nhc([&](const std::string&, Throughput) {
    slurm_.admin_drain("sigma: gemm sdc 3/4096");  // same text, a new drain (new reason time)
    return report(ExitCode::ok);
  });
  EXPECT_EQ(slurm_.resumes, 0);
}

TEST_F(Lifecycle, APreflightFailureNeverOverwritesAnotherReason) {
  slurm_.node = {true, true, "admin: draining for maintenance", std::floor(now_seconds())};
  EXPECT_EQ(preflight([](const std::string&, Throughput) { return report(ExitCode::node_hardware, "sigma: gemm sdc 1/1"); }),
            ExitCode::node_hardware);
  EXPECT_TRUE(slurm_.drains.empty());
  EXPECT_EQ(slurm_.node.reason, "admin: draining for maintenance");
  EXPECT_TRUE(logged("node_drain_skipped"));
}

TEST_F(Lifecycle, ANodeThatKeepsFailingIsHeldForAHuman) {
  config_.preflight.recycle.flap_drains = 3;
  const RunLevel fails = [](const std::string&, Throughput) { return report(ExitCode::node_hardware, "sigma: gemm sdc 1/4096"); };
  int recycles = 0;
  const RunLevel passes = [&](const std::string&, Throughput) {
    ++recycles;
    return report(ExitCode::ok);
  };
  preflight(fails);
  nhc(passes);
  preflight(fails);
  nhc(passes);
  EXPECT_EQ(slurm_.resumes, 2);
  preflight(fails);
  ASSERT_EQ(slurm_.drains.size(), 3u);
  EXPECT_EQ(slurm_.drains.back(), "sigma: flapping 3 drains in 3600 s");
  EXPECT_TRUE(logged("node_flapping"));
  nhc(passes);
  nhc(passes);
  EXPECT_EQ(recycles, 2) << "a flapping node must not be burned in and resumed again";
  EXPECT_EQ(slurm_.resumes, 2);
  EXPECT_TRUE(slurm_.node.drain);
}

TEST_F(Lifecycle, FlapDetectionOffNeverHoldsANode) {
  config_.preflight.recycle.flap_drains = 0;
  const RunLevel fails = [](const std::string&, Throughput) { return report(ExitCode::node_hardware, "sigma: gemm sdc 1/4096"); };
  for (int i = 0; i < 5; ++i) preflight(fails);
  EXPECT_EQ(slurm_.node.reason, "sigma: gemm sdc 1/4096");
}

TEST_F(Lifecycle, DrainsByOtherSigmaPartsCount) {
  config_.preflight.recycle.flap_drains = 3;
  {
    StateDir state(config_.paths.state_dir);
    record_node_drain(state, "n1", now_seconds() - 100);
    record_node_drain(state, "n1", now_seconds() - 50);
  }
  drained_by_sigma("sigma: hang (no heartbeat for 300s)", 10);  // sigma-launch's, not in the history
  int recycles = 0;
  nhc([&](const std::string&, Throughput) {
    ++recycles;
    return report(ExitCode::ok);
  });
  EXPECT_EQ(recycles, 0);
  EXPECT_EQ(slurm_.node.reason, "sigma: flapping 3 drains in 3600 s");
}

TEST_F(Lifecycle, ARedrainWithTheSameReasonRestartsTheHoldOff) {
  config_.preflight.recycle.hold_off_s = 600;
  drained_by_sigma("sigma: gemm sdc 1/4096", 1000);
  int recycles = 0;
  const RunLevel fails = [&](const std::string&, Throughput) {
    ++recycles;
    return report(ExitCode::node_hardware, "sigma: gemm sdc 1/4096");
  };
  nhc(fails);  // past the hold-off: burned in, fails again with the same reason
  ASSERT_EQ(recycles, 1);
  EXPECT_LT(slurm_.node.reason_time, now_seconds() - 900) << "slurmctld keeps the time of an unchanged reason";
  nhc(fails);
  EXPECT_EQ(recycles, 1) << "the re-drain must restart the hold-off";
}

TEST_F(Lifecycle, ARecentDrainMeansNoCachedPass) {
  StateDir state(config_.paths.state_dir);
  record_node_passed(state, "n1", "quick", now_seconds());
  EXPECT_FALSE(recently_drained(state, "n1", config_.preflight.recycle, now_seconds()));
  preflight([](const std::string&, Throughput) { return report(ExitCode::node_hardware, "sigma: gemm sdc 1/4096"); });
  EXPECT_TRUE(recently_drained(state, "n1", config_.preflight.recycle, now_seconds()));
}

TEST_F(Lifecycle, ThroughputOnASharedNodeNeitherDrainsNorCaches) {
  slurm_.node = {false, true, "", 0};  // in service, running jobs
  Throughput seen = Throughput::judged;
  EXPECT_EQ(nhc([&](const std::string&, Throughput t) {
              seen = t;
              RunReport r = report(ExitCode::ok);
              r.unjudged = {"membw slow copy_gbs 39%"};
              return r;
            }),
            ExitCode::ok);
  EXPECT_EQ(seen, Throughput::shared_node);
  EXPECT_TRUE(slurm_.drains.empty());
  EXPECT_FALSE(cached());
  EXPECT_TRUE(logged("throughput_not_judged"));
  slurm_.node.busy = false;  // idle: nobody else's load, throughput is judged
  nhc([&](const std::string&, Throughput t) {
    seen = t;
    return report(ExitCode::ok);
  });
  EXPECT_EQ(seen, Throughput::judged);
  EXPECT_TRUE(cached());
}

TEST(SameDrain, OnlyTheSameReasonAtTheSameTime) {
  const NodeStatus before{true, false, "sigma: gemm sdc 1/1", 100};
  EXPECT_TRUE(same_drain(before, before));
  EXPECT_FALSE(same_drain(before, {true, false, "sigma: gemm sdc 1/1", 101}));
  EXPECT_FALSE(same_drain(before, {true, false, "admin", 100}));
  EXPECT_FALSE(same_drain(before, {false, false, "", 0}));
}

}  // namespace
}  // namespace sigma::hc
