// The supervisor's decisions without a cluster: failure -> class -> action, blame, backoff, caps.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "sigma/contracts/heartbeat.hpp"
#include "sigma/launcher/recovery_policy.hpp"
#include "sigma/launcher/task.hpp"

using namespace sigma;
using namespace sigma::launch;

namespace {

PolicyConfig policy(int max_restarts = 3) {
  PolicyConfig p;
  p.max_restarts = max_restarts;
  p.backoff = {2, 10, 2};
  return p;
}

const Taxonomy& taxonomy() {
  static const Taxonomy t(default_taxonomy_rules());
  return t;
}

StepFailure exited(int code, const std::string& node = "", const std::string& log = "") {
  return {{code, 0, log}, false, node};
}
StepFailure killed(int sig, const std::string& node) { return {{0, sig, ""}, false, node}; }
StepFailure hung_on(const std::string& node) {
  StepFailure f = killed(SIGKILL, node);  // the supervisor aborted it
  f.hang = true;
  return f;
}

}  // namespace

TEST(RecoveryPolicy, SuccessIsDone) {
  EXPECT_EQ(decide(taxonomy(), policy(), exited(0), {0, 1}).next, Next::done);
}

TEST(RecoveryPolicy, ANodeSrunLostIsNoSuccessEvenWhenItExits0) {
  // Ranks that do not wait for each other: the others completed, the dead node's never did.
  const std::string log = "srun: error: Node failure on n2\n";
  const std::string blamed = node_to_blame({0, 0, log}, log, std::nullopt, {"n1", "n2"});
  const Decision d = decide(taxonomy(), policy(), exited(0, blamed, log), {0, 1});
  EXPECT_EQ(d.next, Next::restart);
  EXPECT_EQ(d.drain_node, "n2");
  EXPECT_EQ(d.verdict.fault_code, "node_fail");
}

TEST(RecoveryPolicy, ANodeFailureLineTheProgramPrintsAboutAnotherNodeIsNoFailure) {
  const std::string log = "srun: error: Node failure on n9\n";  // not one of the step's nodes
  const std::string blamed = node_to_blame({0, 0, log}, log, std::nullopt, {"n1", "n2"});
  EXPECT_EQ(blamed, "");
  EXPECT_EQ(decide(taxonomy(), policy(), exited(0, blamed, log), {0, 1}).next, Next::done);
}

TEST(RecoveryPolicy, HardwareFaultDrainsTheNodeAndRestartsOnASpare) {
  const Decision d = decide(taxonomy(), policy(), exited(10, "n3"), {0, 1});
  EXPECT_EQ(d.next, Next::restart);
  EXPECT_EQ(d.drain_node, "n3");
  EXPECT_FALSE(d.exclude_only);
  EXPECT_EQ(d.verdict.failure_class, FailureClass::hardware);
  EXPECT_DOUBLE_EQ(d.backoff_s, 2);
}

TEST(RecoveryPolicy, HardwareFaultWithoutASpareGoesBackToTheQueue) {
  const Decision d = decide(taxonomy(), policy(), exited(10, "n3"), {0, 0});
  EXPECT_EQ(d.next, Next::stop);
  EXPECT_EQ(d.exit_code, ExitCode::node_hardware);  // RequeueExit requeues it; the drained node is avoided
  EXPECT_EQ(d.drain_node, "n3");
  EXPECT_NE(d.reason.find("no spare node left"), std::string::npos);
}

TEST(RecoveryPolicy, ANodeFaultWithoutASpareGoesOnWithFewerNodesWhenTheJobAllows) {
  const Decision d = decide(taxonomy(), policy(), exited(10, "n3"), {0, 0, 3});
  EXPECT_EQ(d.next, Next::restart);
  EXPECT_EQ(d.drain_node, "n3");
  EXPECT_FALSE(d.exclude_only);
  EXPECT_EQ(d.shrink_to, 3);
  EXPECT_NE(d.reason.find("no spare node left: going on with 3 node(s)"), std::string::npos) << d.reason;
  const Decision lost = decide(taxonomy(), policy(), hung_on("n2"), {0, 0, 1});
  EXPECT_EQ(lost.next, Next::restart);
  EXPECT_EQ(lost.shrink_to, 1);
  // A spare free: replaced, not shrunk.
  EXPECT_EQ(decide(taxonomy(), policy(), exited(10, "n3"), {0, 1, 3}).shrink_to, 0);
  // A killed rank is no node fault: it restarts in place, it does not give up a node.
  const Decision killed_rank = decide(taxonomy(), policy(), killed(SIGKILL, "n2"), {0, 0, 3});
  EXPECT_EQ(killed_rank.next, Next::restart);
  EXPECT_EQ(killed_rank.drain_node, "");
  EXPECT_EQ(killed_rank.shrink_to, 0);
  // No node blamed: nothing to go on without.
  EXPECT_EQ(decide(taxonomy(), policy(), hung_on(""), {0, 0, 3}).next, Next::stop);
  // The restart cap still holds.
  EXPECT_EQ(decide(taxonomy(), policy(2), exited(10, "n3"), {2, 0, 3}).next, Next::stop);
}

TEST(RecoveryPolicy, ALogLineCanBlameHardware) {
  const Decision d = decide(taxonomy(), policy(), exited(1, "n2", "NVRM: Xid (PCI:0000:3b:00): 79, pid=1"), {0, 2});
  EXPECT_EQ(d.next, Next::restart);
  EXPECT_EQ(d.verdict.rule, "nvidia-xid-hardware");
  EXPECT_EQ(d.drain_node, "n2");
}

TEST(RecoveryPolicy, AKilledRankMovesOffItsNodeWithoutDrainingIt) {
  const Decision d = decide(taxonomy(), policy(), killed(SIGKILL, "n2"), {0, 1});
  EXPECT_EQ(d.next, Next::restart);
  EXPECT_EQ(d.drain_node, "n2");
  EXPECT_TRUE(d.exclude_only);
  const Decision same_nodes = decide(taxonomy(), policy(), killed(SIGKILL, "n2"), {0, 0});
  EXPECT_EQ(same_nodes.next, Next::restart);
  EXPECT_EQ(same_nodes.drain_node, "");
}

TEST(RecoveryPolicy, AHangDrainsTheRankThatStoppedFirst) {
  const Decision d = decide(taxonomy(), policy(), hung_on("n4"), {1, 1});
  EXPECT_EQ(d.next, Next::restart);
  EXPECT_EQ(d.verdict.rule, "hang");
  EXPECT_EQ(d.drain_node, "n4");
  EXPECT_DOUBLE_EQ(d.backoff_s, 4);
}

TEST(RecoveryPolicy, UserErrorsStopOnceWithTheirOwnCode) {
  for (int code : {2, 3, 4, 5, 11}) {
    const Decision d = decide(taxonomy(), policy(), exited(code, "n1"), {0, 3});
    EXPECT_EQ(d.next, Next::stop) << code;
    EXPECT_EQ(to_int(d.exit_code), code);
    EXPECT_EQ(d.drain_node, "");
    EXPECT_NE(d.reason.find("a user error: not restarted or requeued"), std::string::npos) << d.reason;
  }
  const Decision crash = decide(taxonomy(), policy(), killed(SIGSEGV, "n1"), {0, 3});
  EXPECT_EQ(crash.next, Next::stop);
}

TEST(RecoveryPolicy, UnknownFailuresStopForAHuman) {
  const Decision d = decide(taxonomy(), policy(), exited(77, "n1"), {0, 3});
  EXPECT_EQ(d.next, Next::stop);
  EXPECT_EQ(d.exit_code, ExitCode::internal);
}

TEST(RecoveryPolicy, AStopSignalsSavedStateIsPassedOn) {
  const Decision d = decide(taxonomy(), policy(), exited(42), {0, 3});
  EXPECT_EQ(d.next, Next::stop);
  EXPECT_EQ(d.exit_code, ExitCode::requeue);
}

TEST(RecoveryPolicy, TheRestartCapHolds) {
  const Decision d = decide(taxonomy(), policy(2), exited(10, "n3"), {2, 5});
  EXPECT_EQ(d.next, Next::stop);
  EXPECT_EQ(d.exit_code, ExitCode::node_hardware);
  EXPECT_EQ(d.drain_node, "n3");
  EXPECT_NE(d.reason.find("policy.max_restarts=2"), std::string::npos);
  EXPECT_EQ(decide(taxonomy(), policy(0), killed(SIGKILL, "n2"), {0, 5}).next, Next::stop);
}

TEST(RecoveryPolicy, BackoffGrowsAndIsCapped) {
  const BackoffConfig b{5, 30, 2};
  EXPECT_DOUBLE_EQ(backoff_seconds(b, 0), 5);
  EXPECT_DOUBLE_EQ(backoff_seconds(b, 1), 10);
  EXPECT_DOUBLE_EQ(backoff_seconds(b, 2), 20);
  EXPECT_DOUBLE_EQ(backoff_seconds(b, 3), 30);
  EXPECT_DOUBLE_EQ(backoff_seconds(b, 50), 30);
}

TEST(Blame, SrunNamesTheNodeOfTheFirstFailedTask) {
  EXPECT_EQ(node_named_by_srun("srun: error: n2: task 1: Killed\nsrun: error: n1: task 0: Killed\n"), "n2");
  EXPECT_EQ(node_named_by_srun("srun: error: n3: tasks 4-7: Exited with exit code 10\n"), "n3");
  EXPECT_EQ(node_named_by_srun("srun: error: Node failure on n4\nsrun: error: n1: task 0: Killed\n"), "n4");
  EXPECT_EQ(node_named_by_srun("something else\n"), "");
}

TEST(Blame, TheTrainersBlameOutranksSrunOnAHardwareExit) {
  const std::string srun = "srun: error: n1: task 0: Exited with exit code 10\nsrun: error: n2: task 1: Exited with exit code 10\n";
  const std::vector<std::string> step_nodes = {"n1", "n2"};
  const StepOutcome hardware{10, 0, srun};
  EXPECT_EQ(node_to_blame(hardware, srun, RankOnNode{1, "n2"}, step_nodes), "n2");
  EXPECT_EQ(node_to_blame(hardware, srun, std::nullopt, step_nodes), "n1");                // no blame: srun's
  EXPECT_EQ(node_to_blame(hardware, srun, RankOnNode{1, "n7"}, step_nodes), "n1");         // not the step's node
  const StepOutcome user_error{2, 0, srun};
  EXPECT_EQ(node_to_blame(user_error, srun, RankOnNode{1, "n2"}, step_nodes), "n1");       // a stale blame file
}

TEST(Blame, TheRankThatStoppedFirstHasTheOldestStep) {
  const std::vector<Heartbeat> beats = {{0, 120, 50.0, "n1", 0}, {1, 119, 40.0, "n2", 0}, {2, 120, 51.0, "n3", 0}};
  EXPECT_EQ(stopped_first(beats)->node, "n2");
  const std::vector<Heartbeat> same_step = {{0, 7, 50.0, "n1", 0}, {1, 7, 45.0, "n2", 0}};
  EXPECT_EQ(stopped_first(same_step)->node, "n2");
  EXPECT_FALSE(stopped_first({}).has_value());
}

TEST(Blame, AFrozenProcessIsBlamedBeforeStepsAreCompared) {
  // Both ranks finished step 7; rank 0 waits in a collective (its liveness thread still beats), rank 1 is frozen.
  const std::vector<Heartbeat> beats = {{0, 7, 45.0, "n1", 0}, {1, 7, 50.0, "n2", 0}};
  EXPECT_EQ(stopped_first(beats, {{0, 99.5}, {1, 51.0}}, 100.0)->node, "n2");
  EXPECT_EQ(stopped_first(beats, {{0, 99.5}, {1, 99.0}}, 100.0)->node, "n1");  // all alive: oldest progress
}

TEST(Heartbeats, TheLivenessThreadBeatsUntilStopped) {
  char pattern[] = "/tmp/sigma-liveness.XXXXXX";
  const std::string dir = mkdtemp(pattern);
  ASSERT_EQ(setenv("SLURMD_NODENAME", "n7", 1), 0);
  {
    LivenessBeat alive(dir, 5);
    for (int i = 0; i < 100 && read_liveness(dir).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  unsetenv("SLURMD_NODENAME");
  const auto liveness = read_liveness(dir);
  ASSERT_EQ(liveness.size(), 1u);
  EXPECT_EQ(liveness[0].rank, 5);
  EXPECT_GT(liveness[0].time, 0);
  EXPECT_EQ(liveness[0].node, "n7") << "a rank's liveness places it before its first step";
  std::filesystem::remove_all(dir);
}

TEST(Heartbeats, RoundTripThroughTheirDirectory) {
  char pattern[] = "/tmp/sigma-heartbeats.XXXXXX";
  const std::string dir = mkdtemp(pattern);
  write_heartbeat(dir, {3, 17, 123.5, "n9", 10});
  const auto beats = read_heartbeats(dir);
  ASSERT_EQ(beats.size(), 1u);
  EXPECT_EQ(beats[0].rank, 3);
  EXPECT_EQ(beats[0].step, 17);
  EXPECT_EQ(beats[0].node, "n9");
  EXPECT_EQ(beats[0].resumed_from, 10);
  std::filesystem::remove_all(dir);
}

TEST(Heartbeats, StragglerFlagsAreReadClearedAndResetWithTheDirectory) {
  char pattern[] = "/tmp/sigma-stragglers.XXXXXX";
  const std::string dir = mkdtemp(pattern);
  write_straggler_flag(dir, {1, "n2"});
  write_straggler_flag(dir, {3, "n4"});
  std::ofstream(dir + "/straggler-5") << "not json";  // a torn or foreign file is skipped
  auto flags = read_straggler_flags(dir);
  ASSERT_EQ(flags.size(), 2u);
  std::sort(flags.begin(), flags.end(), [](const auto& a, const auto& b) { return a.rank < b.rank; });
  EXPECT_EQ(flags[0].rank, 1);
  EXPECT_EQ(flags[0].node, "n2");
  clear_straggler_flag(dir, 1);
  ASSERT_EQ(read_straggler_flags(dir).size(), 1u);
  reset_heartbeat_dir(dir);
  EXPECT_TRUE(read_straggler_flags(dir).empty());
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  std::filesystem::remove_all(dir);
}

TEST(Heartbeats, TheTrainersBlameIsReadBackAndResetWithTheDirectory) {
  char pattern[] = "/tmp/sigma-blame.XXXXXX";
  const std::string dir = mkdtemp(pattern);
  EXPECT_FALSE(read_blame(dir).has_value());
  write_blame(dir, {2, "n3"});
  const auto blamed = read_blame(dir);
  ASSERT_TRUE(blamed.has_value());
  EXPECT_EQ(blamed->rank, 2);
  EXPECT_EQ(blamed->node, "n3");
  EXPECT_TRUE(read_straggler_flags(dir).empty());  // a blame is not a straggler flag
  reset_heartbeat_dir(dir);
  EXPECT_FALSE(read_blame(dir).has_value());
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  std::filesystem::remove_all(dir);
}

TEST(Task, ThePluginsVerdictSkipsTheBurnInOnlyForTheSameOrAWeakerLevel) {
  EXPECT_TRUE(validated_by_plugin(PreflightLevel::quick, "standard", "pass"));
  EXPECT_TRUE(validated_by_plugin(PreflightLevel::standard, "standard", "cached"));
  EXPECT_FALSE(validated_by_plugin(PreflightLevel::extended, "standard", "pass"));
  EXPECT_FALSE(validated_by_plugin(PreflightLevel::quick, "quick", "fail"));
  EXPECT_FALSE(validated_by_plugin(PreflightLevel::quick, "off", "off"));
  EXPECT_FALSE(validated_by_plugin(PreflightLevel::quick, nullptr, "pass"));
  EXPECT_FALSE(validated_by_plugin(PreflightLevel::quick, "bogus", "pass"));
}

TEST(Blame, TheFirstFailedTaskDecidesTheOutcome) {
  // --kill-on-bad-exit terminated the other task: srun exits 143, but the failure was an exit 2.
  const StepOutcome user = first_task_outcome(
      {143, 0, "srun: error: n1: task 0: Exited with exit code 2\nsrun: error: n2: task 1: Terminated\n"});
  EXPECT_EQ(user.exit_code, 2);
  EXPECT_EQ(user.signal, 0);
  const StepOutcome killed = first_task_outcome({137, 0, "srun: error: n2: task 1: Killed\n"});
  EXPECT_EQ(killed.signal, SIGKILL);
  EXPECT_EQ(first_task_outcome({10, 0, "no task lines"}).exit_code, 10);
  // srun exits with the last task's status: the killed rank's partner died of a broken pipe (128 + 13), but the
  // first task's line says it was killed (SIGKILL: restart), not a broken pipe (unclassified: stop for a human).
  const StepOutcome partner = first_task_outcome(
      {141, 0, "srun: error: n2: task 1: Killed\nsrun: error: n1: task 0: Broken pipe\n"});
  EXPECT_EQ(partner.signal, SIGKILL);
  EXPECT_EQ(partner.exit_code, 0);
  EXPECT_EQ(first_task_outcome({139, 0, "srun: error: n1: task 0: Segmentation fault\n"}).signal, SIGSEGV);
}

TEST(Blame, ABrokenPipeReportedFirstIsTheConsequenceNotTheCause) {
  // srun may see the partner's broken pipe before the kill -9 that caused it (seen in the fault matrix).
  const std::string log = "srun: error: n1: task 0: Broken pipe\nsrun: launch/slurm: _step_signal: Terminating "
                          "StepId=8.0\nsrun: error: n2: task 1: Killed\nsrun: Force Terminated StepId=8.0\n";
  const StepOutcome killed = first_task_outcome({137, 0, log});
  EXPECT_EQ(killed.signal, SIGKILL);
  EXPECT_EQ(killed.exit_code, 0);
  EXPECT_EQ(node_named_by_srun(log), "n2");
  // A broken pipe alone is still what ended the step, on the node that reported it.
  const std::string alone = "srun: error: n1: task 0: Broken pipe\n";
  EXPECT_EQ(first_task_outcome({141, 0, alone}).signal, SIGPIPE);
  EXPECT_EQ(node_named_by_srun(alone), "n1");
}

TEST(Blame, AnOverlongTaskLineIsReadWithoutCrashing) {
  // The step's stderr is the program's too: a 60,000-character task line overflowed std::regex's recursion.
  const std::string huge = "srun: error: n1: task 0: " + std::string(60000, 'x') + "\n";
  const StepOutcome outcome = first_task_outcome({1, 0, huge});
  EXPECT_EQ(outcome.exit_code, 1);  // the line names no exit code or signal: srun's own status stands
  EXPECT_EQ(outcome.signal, 0);
  EXPECT_EQ(node_named_by_srun(huge), "n1");
  // Past the first 4 KiB of a line nothing is read: a status there does not count.
  const std::string late = "srun: error: n2: task 1: " + std::string(5000, ' ') + "Exited with exit code 2\n";
  EXPECT_EQ(first_task_outcome({9, 0, late}).exit_code, 9);
  EXPECT_EQ(first_task_outcome({9, 0, "srun: error: n2: task 1: Exited with exit code 2\n"}).exit_code, 2);
}

TEST(Blame, AnExitCodeOutOfRangeIsNotTakenForOne) {
  // "internal error: stoi" before: the number did not fit an int. No process exits with more than 255.
  for (const char* number : {"99999999999", "256", "999999999999999999999999999999"}) {
    const std::string log = std::string("srun: error: n1: task 0: Exited with exit code ") + number + "\n";
    const StepOutcome outcome = first_task_outcome({10, 0, log});
    EXPECT_EQ(outcome.exit_code, 10) << number;  // srun's own status
    EXPECT_EQ(outcome.signal, 0) << number;
  }
  EXPECT_EQ(first_task_outcome({1, 0, "srun: error: n1: task 0: Exited with exit code 255\n"}).exit_code, 255);
}

TEST(Blame, SrunLinesNamingANodeOutsideTheStepAreNotEvidence) {
  // The program can print anything to the stderr srun's lines share: it cannot get another node blamed.
  const std::vector<std::string> step_nodes = {"n1", "n2"};
  const std::string forged = "srun: error: Node failure on n7\n";
  EXPECT_EQ(node_to_blame({1, 0, forged}, forged, std::nullopt, step_nodes), "");
  const std::string real = "srun: error: Node failure on n2\n";
  EXPECT_EQ(node_to_blame({1, 0, real}, real, std::nullopt, step_nodes), "n2");
}

TEST(RecoveryPolicy, AHeartbeatDirectoryFaultStopsWithoutDrainingAnyNode) {
  // Every rank looked hung because none could write its beats: nothing is known about any node.
  StepFailure f = hung_on("");
  f.heartbeat_dir_fault = "heartbeat directory /run/hb not writable: No space left on device";
  for (const RecoveryState state : {RecoveryState{0, 1}, RecoveryState{0, 0}, RecoveryState{3, 1}}) {
    const Decision d = decide(taxonomy(), policy(), f, state);
    EXPECT_EQ(d.next, Next::stop);
    EXPECT_EQ(d.exit_code, ExitCode::config);
    EXPECT_EQ(d.drain_node, "");
    EXPECT_EQ(d.verdict.fault_code, "heartbeat_dir_unwritable");
    EXPECT_EQ(d.reason.rfind("heartbeat directory /run/hb not writable: No space left on device", 0), 0u) << d.reason;
  }
  // Even with a node on record (a stale rank), the directory's fault blames none.
  f.blamed_node = "n2";
  EXPECT_EQ(decide(taxonomy(), policy(), f, {0, 1}).drain_node, "");
}

TEST(FailureEvent, AnInPlaceRestartNamesTheNodeItKept) {
  // A rank killed on n2 with no spare free: restarted on the same nodes, n2 kept; the ledger still names it.
  const StepFailure f = killed(SIGKILL, "n2");
  const Decision d = decide(taxonomy(), policy(), f, {0, 0});
  ASSERT_EQ(d.next, Next::restart);
  ASSERT_EQ(d.drain_node, "");
  const auto event = failure_event(f, d);
  EXPECT_EQ(event["node"], "n2");
  EXPECT_EQ(event["node_action"], "kept: restarted on the same nodes (no spare node free)");
  EXPECT_EQ(event["next"], "restart");
  EXPECT_FALSE(event.contains("node_unknown"));

  const auto drained = failure_event(hung_on("n4"), decide(taxonomy(), policy(), hung_on("n4"), {0, 1}));
  EXPECT_EQ(drained["node"], "n4");
  EXPECT_EQ(drained["node_action"], "drained");
  const auto excluded = failure_event(f, decide(taxonomy(), policy(), f, {0, 1}));
  EXPECT_EQ(excluded["node_action"], "excluded from this job, not drained");
}

TEST(FailureEvent, NoNodeKnownIsSaidAsNullWithTheReason) {
  const StepFailure start_up = hung_on("");
  const auto event = failure_event(start_up, decide(taxonomy(), policy(), start_up, {0, 1}));
  EXPECT_TRUE(event["node"].is_null());
  EXPECT_EQ(event["node_unknown"], "no heartbeat of a started rank names one (a rank never beat)");
  const StepFailure no_line = exited(13);
  EXPECT_EQ(failure_event(no_line, decide(taxonomy(), policy(), no_line, {0, 1}))["node_unknown"],
            "srun's error lines name none of the step's nodes");
  StepFailure dir = hung_on("");
  dir.heartbeat_dir_fault = "heartbeat directory /hb not writable: x";
  const auto dir_event = failure_event(dir, decide(taxonomy(), policy(), dir, {0, 1}));
  EXPECT_TRUE(dir_event["node"].is_null());
  EXPECT_EQ(dir_event["fault_code"], "heartbeat_dir_unwritable");
  EXPECT_EQ(dir_event["exit_code"], 3);
}

TEST(RecoveryPolicy, ALostRankDrainsItsNodeAsALivenessFault) {
  StepFailure f = hung_on("n2");
  f.liveness_lost = "rank 1 on n2: no liveness beat for 3.2s";
  const Decision d = decide(taxonomy(), policy(), f, {0, 1});
  EXPECT_EQ(d.next, Next::restart);
  EXPECT_EQ(d.verdict.rule, "liveness");
  EXPECT_EQ(d.verdict.fault_code, "liveness_lost");
  EXPECT_EQ(d.verdict.evidence, "rank 1 on n2: no liveness beat for 3.2s");  // the drain reason's words
  EXPECT_EQ(d.drain_node, "n2");
  EXPECT_FALSE(d.exclude_only) << "a dead node and a frozen one look alike: drained, as for a hang";
  EXPECT_NE(d.reason.find("liveness lost"), std::string::npos) << d.reason;
  EXPECT_EQ(failure_event(f, d)["node_action"], "drained");
  const Decision no_spare = decide(taxonomy(), policy(), f, {0, 0});
  EXPECT_EQ(no_spare.next, Next::stop);
  EXPECT_EQ(no_spare.exit_code, ExitCode::node_hardware);
  EXPECT_EQ(no_spare.drain_node, "n2");
  f.blamed_node = "";
  EXPECT_EQ(failure_event(f, decide(taxonomy(), policy(), f, {0, 1}))["node_unknown"],
            "the silent rank's beats name no node");
}

TEST(Blame, SrunReportsATaskEndAsItHappens) {
  const auto killed = srun_task_end("srun: error: n2: task 1: Killed");
  ASSERT_TRUE(killed.has_value());
  EXPECT_EQ(killed->node, "n2");
  EXPECT_EQ(killed->what, "Killed");
  EXPECT_EQ(killed->signal, SIGKILL);
  EXPECT_TRUE(ends_the_step_at_once(*killed));
  for (const char* crash : {"srun: error: n1: task 0: Segmentation fault", "srun: error: n1: tasks 0-1: Aborted",
                            "srun: error: n3: task 4: Bus error"}) {
    const auto end = srun_task_end(crash);
    ASSERT_TRUE(end.has_value()) << crash;
    EXPECT_TRUE(ends_the_step_at_once(*end)) << crash;
  }
  // Left to srun's own end: ranks that agree to stop, a partner's broken pipe, a stop signal.
  for (const char* orderly : {"srun: error: n1: task 0: Exited with exit code 42", "srun: error: n1: task 0: Broken pipe",
                              "srun: error: n1: task 0: Terminated", "srun: error: n1: task 0: User defined signal 1"}) {
    const auto end = srun_task_end(orderly);
    ASSERT_TRUE(end.has_value()) << orderly;
    EXPECT_FALSE(ends_the_step_at_once(*end)) << orderly;
  }
  EXPECT_FALSE(srun_task_end("srun: error: Node failure on n2").has_value());
  EXPECT_FALSE(srun_task_end("sigma-train: step 12 loss 3.1").has_value());
  EXPECT_FALSE(srun_task_end("srun: error: n2: task 1" + std::string(5000, ' ') + ": Killed").has_value())
      << "only the first 4 KiB of a line are read";
}

TEST(Blame, AnAbortOnAKillLineDecidesAsSrunsOwnEndDid) {
  // srun's own end after a kill -9 of rank 1 (before: the partner's broken pipe, srun exits 141) and the end
  // after the supervisor aborted on the "Killed" line (the partner killed by the abort, srun then SIGKILLed):
  // the same outcome, node and decision.
  const std::vector<std::string> step_nodes = {"n1", "n2"};
  const std::string own_end = "srun: error: n2: task 1: Killed\nsrun: error: n1: task 0: Broken pipe\n";
  const std::string aborted = "srun: error: n2: task 1: Killed\nsrun: Job step aborted: Waiting up to 7 seconds for "
                              "job step to finish.\nsrun: error: n1: task 0: Killed\n";
  const std::string pipe_first = "srun: error: n1: task 0: Broken pipe\nsrun: error: n2: task 1: Killed\n";
  for (const StepOutcome& srun : {StepOutcome{141, 0, own_end}, StepOutcome{0, SIGKILL, aborted},
                                  StepOutcome{0, SIGKILL, pipe_first}}) {
    const StepOutcome first = first_task_outcome(srun);
    EXPECT_EQ(first.signal, SIGKILL) << srun.log;
    const std::string node = node_to_blame(first, srun.log, std::nullopt, step_nodes);
    EXPECT_EQ(node, "n2") << srun.log;
    const Decision d = decide(taxonomy(), policy(), {first, false, node}, {0, 1});
    EXPECT_EQ(d.next, Next::restart);
    EXPECT_EQ(d.drain_node, "n2");
    EXPECT_TRUE(d.exclude_only);
  }
}
