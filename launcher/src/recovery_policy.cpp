#include "sigma/launcher/recovery_policy.hpp"

#include <fmt/format.h>

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstring>
#include <string_view>

namespace sigma::launch {
namespace {

Decision stop(const Verdict& verdict, ExitCode code, std::string reason) {
  Decision d;
  d.verdict = verdict;
  d.exit_code = code;
  d.reason = std::move(reason);
  return d;
}

// The exit code that carries a failure class out of the batch script (RequeueExit decides about a requeue).
ExitCode exit_code_for(const Verdict& verdict, const StepOutcome& outcome) {
  if (auto info = exit_code_info(outcome.exit_code); info && outcome.signal == 0 && outcome.exit_code != 0) {
    return info->code;
  }
  switch (verdict.failure_class) {
    case FailureClass::hardware: return ExitCode::node_hardware;
    case FailureClass::transient: return ExitCode::transient;
    case FailureClass::platform: return ExitCode::hang;
    case FailureClass::user: return ExitCode::config;
    case FailureClass::unknown: break;
  }
  return ExitCode::internal;
}

// A lost rank is placed (its node) but not explained: a dead node, a frozen process and a cut network look alike
// from the directory, so it is classed as a hang is.
Verdict hang_verdict(const StepFailure& f) {
  if (!f.liveness_lost.empty()) return {"liveness", FailureClass::platform, FailureAction::restart, "liveness_lost", f.liveness_lost};
  return {"hang", FailureClass::platform, FailureAction::restart, "hang", "no heartbeat progress"};
}

Verdict heartbeat_dir_verdict(const std::string& why) {
  return {"heartbeat-dir", FailureClass::platform, FailureAction::fail, "heartbeat_dir_unwritable", why};
}

std::string describe(const StepFailure& f) {
  if (f.hang) return f.liveness_lost.empty() ? "no progress" : "liveness lost";
  if (f.outcome.signal) return fmt::format("killed by signal {}", f.outcome.signal);
  return fmt::format("exit {}", f.outcome.exit_code);
}

// The signal whose description (strsignal, as srun prints it: "Killed", "Segmentation fault") is `text`; 0 if none.
int signal_named(const std::string& text) {
  for (int sig = 1; sig < 65 && !text.empty(); ++sig) {
    const char* name = strsignal(sig);
    if (name != nullptr && text == name) return sig;
  }
  return 0;
}

// srun's "srun: error: NODE: task(s) N: WHAT" line of the task whose end decides the step's outcome: the first
// one, unless it is a broken pipe and another task's line follows. A broken pipe is what a rank gets when its
// partner has died (a kill -9, a crash), and srun may report it first: the partner's line names the cause.
// The log is the step's stderr, which the program writes too: RE2 (linear time, no recursion, as core's taxonomy)
// on at most kMaxTaskLineBytes of each line, so no line can make the supervisor crawl or overflow its stack.
constexpr std::size_t kMaxTaskLineBytes = 4096;

std::optional<TaskEnd> task_end_in(std::string_view line) {
  static const RE2 task_line(R"(srun: error: ([A-Za-z0-9._-]+): tasks? [0-9,-]+: (.*))");
  TaskEnd found;
  if (!RE2::PartialMatch(line.substr(0, std::min(line.size(), kMaxTaskLineBytes)), task_line, &found.node, &found.what)) {
    return std::nullopt;
  }
  found.signal = signal_named(found.what);
  return found;
}

std::optional<TaskEnd> deciding_task_line(std::string_view log) {
  std::optional<TaskEnd> first;
  while (!log.empty()) {
    const std::size_t end = std::min(log.find('\n'), log.size());
    auto found = task_end_in(log.substr(0, end));
    log.remove_prefix(std::min(end + 1, log.size()));
    if (!found) continue;
    if (found->signal != SIGPIPE) return found;
    if (!first) first = std::move(found);
  }
  return first;
}

// The status in "Exited with exit code N", when N is one a process can exit with (0-255).
std::optional<int> exit_code_named(const std::string& what) {
  static const RE2 exited(R"(Exited with exit code ([0-9]+))");
  std::string digits;
  if (!RE2::PartialMatch(what, exited, &digits)) return std::nullopt;
  int code = -1;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), code);
  if (error != std::errc() || end != digits.data() + digits.size() || code > 255) return std::nullopt;
  return code;
}

}  // namespace

std::optional<TaskEnd> srun_task_end(std::string_view line) { return task_end_in(line); }

bool ends_the_step_at_once(const TaskEnd& end) {
  static constexpr int kKilledOrCrashed[] = {SIGKILL, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS};
  return std::find(std::begin(kKilledOrCrashed), std::end(kKilledOrCrashed), end.signal) != std::end(kKilledOrCrashed);
}

double backoff_seconds(const BackoffConfig& backoff, int restart_index) {
  return std::min(backoff.max_s, backoff.initial_s * std::pow(backoff.factor, std::max(0, restart_index)));
}

Decision decide(const Taxonomy& taxonomy, const PolicyConfig& policy, const StepFailure& failure,
                const RecoveryState& state) {
  // Exit 0 is not done when srun lost one of the step's nodes (blamed_node: the node failure it named): that
  // node's tasks never finished, which a program whose ranks do not wait for each other does not notice.
  const bool lost_a_node =
      !failure.blamed_node.empty() && node_failure_named(failure.outcome.log) == failure.blamed_node;
  if (!failure.hang && failure.outcome.exit_code == 0 && failure.outcome.signal == 0 && !lost_a_node) {
    Decision d;
    d.next = Next::done;
    return d;
  }
  if (!failure.heartbeat_dir_fault.empty()) {
    // Every rank looks hung because none could write its beats: draining their nodes would empty the cluster
    // and requeueing would hang again, so stop once for a human (free space, fix the mount or the modes).
    return stop(heartbeat_dir_verdict(failure.heartbeat_dir_fault), ExitCode::config,
                failure.heartbeat_dir_fault + "; a filesystem fault, not a node's: no node drained, not restarted");
  }
  const Verdict verdict = failure.hang ? hang_verdict(failure) : taxonomy.classify(failure.outcome);
  const std::string what = fmt::format("{} ({}: {}{})", describe(failure), to_string(verdict.failure_class),
                                       verdict.rule.empty() ? "no rule" : verdict.rule,
                                       verdict.evidence.empty() ? "" : ", \"" + verdict.evidence + "\"");
  const ExitCode code = exit_code_for(verdict, failure.outcome);
  if (failure.outcome.exit_code == to_int(ExitCode::requeue) && !failure.hang) {
    return stop(verdict, ExitCode::requeue, "the step saved its state and asked to be requeued");
  }
  const bool node_fault = verdict.failure_class == FailureClass::hardware || failure.hang ||
                          verdict.action == FailureAction::drain_requeue;
  if (!node_fault && verdict.action == FailureAction::fail) {
    const bool user = verdict.failure_class == FailureClass::user;
    return stop(verdict, user ? code : ExitCode::internal,
                fmt::format("{}; {}", what, user ? "a user error: not restarted or requeued"
                                                 : "no rule says it is safe to retry: stopped for a human"));
  }
  Decision d = stop(verdict, code, what);
  if (state.restarts_done >= policy.max_restarts) {
    if (node_fault) d.drain_node = failure.blamed_node;
    d.reason = fmt::format("{}; restart cap policy.max_restarts={} reached", what, policy.max_restarts);
    return d;
  }
  const bool can_replace = !failure.blamed_node.empty() && state.spare_capacity >= 1;
  // No spare, but the job may go on with fewer nodes: only for a node fault (a killed process is no reason to
  // give up a node's capacity; it restarts in place).
  const bool can_shrink = node_fault && !can_replace && !failure.blamed_node.empty() && state.shrink_to > 0;
  if (node_fault && !can_replace && !can_shrink) {
    d.drain_node = failure.blamed_node;
    d.exit_code = ExitCode::node_hardware;
    d.reason = fmt::format("{}; {}: the job goes back to the queue", what,
                           failure.blamed_node.empty() ? "no node to blame" : "no spare node left in the allocation");
    return d;
  }
  // A node fault drains the node; any other failure that named a node (a rank killed there) only moves the job
  // off it while a spare is free: a killed process is a reason for doubt, not evidence of bad hardware.
  if (can_replace || can_shrink) {
    d.drain_node = failure.blamed_node;
    d.exclude_only = !node_fault;
  }
  d.next = Next::restart;
  d.backoff_s = backoff_seconds(policy.backoff, state.restarts_done);
  d.reason = what;
  if (can_shrink) {
    d.shrink_to = state.shrink_to;
    d.reason = fmt::format("{}; no spare node left: going on with {} node(s)", what, state.shrink_to);
  }
  return d;
}

nlohmann::json failure_event(const StepFailure& failure, const Decision& decision) {
  nlohmann::json event = {{"class", std::string(to_string(decision.verdict.failure_class))},
                          {"rule", decision.verdict.rule},
                          {"fault_code", decision.verdict.fault_code},
                          {"evidence", decision.verdict.evidence},
                          {"next", decision.next == Next::restart ? "restart" : "stop"},
                          {"exit_code", to_int(decision.exit_code)},
                          {"reason", decision.reason}};
  if (failure.blamed_node.empty()) {
    event["node"] = nullptr;
    event["node_unknown"] = !failure.heartbeat_dir_fault.empty() ? "a filesystem fault: no node is blamed"
                            : !failure.liveness_lost.empty() ? "the silent rank's beats name no node"
                            : failure.hang ? "no heartbeat of a started rank names one (a rank never beat)"
                                           : "srun's error lines name none of the step's nodes";
    return event;
  }
  event["node"] = failure.blamed_node;
  event["node_action"] = !decision.drain_node.empty() ? (decision.exclude_only ? "excluded from this job, not drained"
                                                                               : "drained")
                         : decision.next == Next::restart ? "kept: restarted on the same nodes (no spare node free)"
                                                          : "kept: the job stops";
  return event;
}

StepOutcome first_task_outcome(const StepOutcome& srun) {
  StepOutcome outcome = srun;
  const auto line = deciding_task_line(srun.log);
  const std::string what = line ? line->what : "";
  if (const auto code = exit_code_named(what)) {
    outcome.exit_code = *code;
    outcome.signal = 0;
  } else if (const int sig = signal_named(what); sig != 0) {
    // srun's own exit status is the last task's: after a kill -9 of one rank, its partner may end with a broken
    // pipe, and srun then exits 141. The deciding task's line names the signal that ended it (strsignal's words).
    outcome.exit_code = 0;
    outcome.signal = sig;
  } else if (outcome.signal == 0 && outcome.exit_code > 128 && outcome.exit_code < 128 + 65) {
    outcome.signal = outcome.exit_code - 128;
    outcome.exit_code = 0;
  }
  return outcome;
}

std::string node_failure_named(const std::string& log) {
  static const RE2 node_failure(R"(Node failure on ([A-Za-z0-9._-]+))");
  std::string node;
  std::string_view rest = log;
  while (!rest.empty()) {
    const std::size_t end = std::min(rest.find('\n'), rest.size());
    if (RE2::PartialMatch(rest.substr(0, std::min(end, kMaxTaskLineBytes)), node_failure, &node)) return node;
    rest.remove_prefix(std::min(end + 1, rest.size()));
  }
  return "";
}

std::string node_named_by_srun(const std::string& log) {
  if (auto node = node_failure_named(log); !node.empty()) return node;
  const auto line = deciding_task_line(log);
  return line ? line->node : "";
}

std::string node_to_blame(const StepOutcome& first, const std::string& srun_log,
                          const std::optional<RankOnNode>& trainer_blame, const std::vector<std::string>& step_nodes) {
  const bool trainer_blamed_one_of_ours =
      trainer_blame && std::find(step_nodes.begin(), step_nodes.end(), trainer_blame->node) != step_nodes.end();
  if (first.exit_code == to_int(ExitCode::node_hardware) && trainer_blamed_one_of_ours) return trainer_blame->node;
  // The program writes to the same stderr as srun: a name that is not one of the step's nodes is not evidence.
  const std::string named = node_named_by_srun(srun_log);
  return std::find(step_nodes.begin(), step_nodes.end(), named) != step_nodes.end() ? named : "";
}

}  // namespace sigma::launch
