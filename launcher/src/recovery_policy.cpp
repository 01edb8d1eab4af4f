#include "sigma/launcher/recovery_policy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstring>
#include <regex>

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

Verdict hang_verdict() {
  return {"hang", FailureClass::platform, FailureAction::restart, "hang", "no heartbeat progress"};
}

std::string describe(const StepFailure& f) {
  if (f.hang) return "no progress";
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
struct TaskLine {
  std::string node, what;
};
std::optional<TaskLine> deciding_task_line(const std::string& log) {
  static const std::regex task_line(R"(srun: error: ([A-Za-z0-9._-]+): tasks? [0-9,-]+: ([^\n]*))");
  std::optional<TaskLine> first;
  for (std::sregex_iterator it(log.begin(), log.end(), task_line), end; it != end; ++it) {
    TaskLine line{(*it)[1].str(), (*it)[2].str()};
    if (signal_named(line.what) != SIGPIPE) return line;
    if (!first) first = line;
  }
  return first;
}

}  // namespace

double backoff_seconds(const BackoffConfig& backoff, int restart_index) {
  return std::min(backoff.max_s, backoff.initial_s * std::pow(backoff.factor, std::max(0, restart_index)));
}

Decision decide(const Taxonomy& taxonomy, const PolicyConfig& policy, const StepFailure& failure,
                const RecoveryState& state) {
  if (!failure.hang && failure.outcome.exit_code == 0 && failure.outcome.signal == 0) {
    Decision d;
    d.next = Next::done;
    return d;
  }
  const Verdict verdict = failure.hang ? hang_verdict() : taxonomy.classify(failure.outcome);
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
  if (node_fault && !can_replace) {
    d.drain_node = failure.blamed_node;
    d.exit_code = ExitCode::node_hardware;
    d.reason = fmt::format("{}; {}: the job goes back to the queue", what,
                           failure.blamed_node.empty() ? "no node to blame" : "no spare node left in the allocation");
    return d;
  }
  // A node fault drains the node; any other failure that named a node (a rank killed there) only moves the job
  // off it while a spare is free: a killed process is a reason for doubt, not evidence of bad hardware.
  if (can_replace) {
    d.drain_node = failure.blamed_node;
    d.exclude_only = !node_fault;
  }
  d.next = Next::restart;
  d.backoff_s = backoff_seconds(policy.backoff, state.restarts_done);
  d.reason = what;
  return d;
}

StepOutcome first_task_outcome(const StepOutcome& srun) {
  StepOutcome outcome = srun;
  static const std::regex exited(R"(Exited with exit code ([0-9]+))");
  std::smatch code;
  const auto line = deciding_task_line(srun.log);
  const std::string what = line ? line->what : "";
  if (std::regex_search(what, code, exited)) {
    outcome.exit_code = std::stoi(code[1]);
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

std::string node_named_by_srun(const std::string& log) {
  static const std::regex node_failure(R"(Node failure on ([A-Za-z0-9._-]+))");
  std::smatch match;
  if (std::regex_search(log, match, node_failure)) return match[1];
  const auto line = deciding_task_line(log);
  return line ? line->node : "";
}

std::string node_to_blame(const StepOutcome& first, const std::string& srun_log,
                          const std::optional<RankOnNode>& trainer_blame, const std::vector<std::string>& step_nodes) {
  const bool trainer_blamed_one_of_ours =
      trainer_blame && std::find(step_nodes.begin(), step_nodes.end(), trainer_blame->node) != step_nodes.end();
  if (first.exit_code == to_int(ExitCode::node_hardware) && trainer_blamed_one_of_ours) return trainer_blame->node;
  return node_named_by_srun(srun_log);
}

}  // namespace sigma::launch
