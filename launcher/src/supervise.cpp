#include "sigma/launcher/supervise.hpp"

#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <thread>

#include "sigma/core/error.hpp"
#include "sigma/contracts/heartbeat.hpp"
#include "sigma/contracts/env_names.hpp"
#include "sigma/contracts/ledger.hpp"
#include "sigma/platform/slurm_node.hpp"
#include "sigma/platform/stop_signal.hpp"
#include "sigma/core/wall_clock.hpp"
#include "sigma/launcher/hang_clock.hpp"
#include "sigma/launcher/liveness_inbox.hpp"
#include "sigma/launcher/liveness_watch.hpp"
#include "sigma/launcher/node_plan.hpp"
#include "sigma/launcher/recovery_policy.hpp"
#include "sigma/launcher/slurm_step.hpp"
#include "sigma/launcher/step_process.hpp"
#include "sigma/launcher/stop_ending.hpp"

namespace sigma::launch {
namespace {

// How often liveness datagrams are read (a lost rank is seen within its liveness timeout plus this) and at most
// how long a line of srun's stderr waits to be read.
constexpr double kPollSeconds = 0.25;
// The heartbeat directory's files (progress beats, and liveness files of programs that send no datagrams) are read
// every kPollSeconds up to this many ranks' files a second, less often for more ranks: on a shared filesystem each
// file read costs its metadata server an open (cluster/README.md, "The control plane at 64 nodes").
constexpr double kFilesReadPerSecond = 1024;
// The longest an abort waits for srun before SIGKILL: it returns sooner once every node that can answer has.
constexpr double kAbortGraceSeconds = 10;
// From a task's bad end that is not a kill or a crash (an exit code, a broken pipe) to the step's abort, unless
// it ended by then: ranks that stop together (exit 42, 10, a user error) end within it; one that exits alone
// leaves the others waiting in a collective. The line of a task killed at the same time, the cause of a broken
// pipe, comes within it too.
constexpr double kBadEndWaitSeconds = 2;
// While a step runs on fewer nodes than asked for, how often the nodes drained on the way are asked whether they
// are back (two libslurm calls each time).
constexpr double kGrowLookSeconds = 3;

void say(const std::string& line) { fmt::print(stderr, "sigma-launch: {}\n", line); }

std::vector<std::string> allocation_nodes() {
  const char* list = std::getenv("SLURM_JOB_NODELIST");
  if (list == nullptr || *list == '\0') {
    throw Error(ExitCode::usage, "supervise: SLURM_JOB_NODELIST is not set (run it inside a batch job)");
  }
  return expand_hostlist(list);
}

// What happened to one attempt, for the summary and the recovery figures.
struct Attempt {
  std::vector<std::string> nodes;
  std::string id;          // handed to its ranks (SIGMA_HEARTBEAT_ATTEMPT): only beats written for it count
  double started = 0;
  double process_started = 0;  // the first rank's process start (step launch done)
  double mpi_ready = 0;        // the last rank out of MPI_Init
  double ready = 0;            // the last rank ready to train (data and checkpoint loaded)
  double first_beat = 0;   // first heartbeat: the first training step of this attempt
  long first_step = 0;
  long last_step = 0;
  double last_beat = 0;
};

struct Summary {
  int restarts = 0;
  int grows = 0;                      // restarts that widened a shrunk step again (not failures)
  std::vector<std::string> excluded;
  std::vector<std::string> rejoined;  // drained nodes that came back and widened the step
  std::vector<std::string> faults;  // one line each: class, node, seconds lost, steps redone
};

class Supervisor {
 public:
  Supervisor(const SuperviseOptions& options, const SiteConfig& config)
      : options_(options), config_(config), taxonomy_(config.taxonomy), all_(allocation_nodes()) {
    // The split is decided here, not by the batch script: the site's cluster.spare_nodes unless --spares says.
    const NodePlan plan =
        plan_nodes(static_cast<int>(all_.size()), options.nodes, options.spares, config.cluster.spare_nodes);
    spares_ = plan.spares;
    width_ = plan.width;
    min_nodes_ = options.min_nodes;
    multiple_ = std::max(1, options.node_multiple);
    say(plan.describe(static_cast<int>(all_.size())));
    if (!options.heartbeat_dir.empty()) inbox_.emplace();
  }

  ExitCode run() {
    install_stop_signal_handlers();
    ledger_.record(LedgerEvent::supervise_started, {{"nodes", all_}, {"width", width_}, {"spares", spares_},
                                          {"min_nodes", may_shrink() ? min_nodes_ : width_}});
    while (true) {
      const auto healthy = healthy_nodes();
      const std::vector<std::string> active(healthy.begin(), healthy.begin() + step_width(static_cast<int>(healthy.size())));
      // The id is unique across the job's requeues too (another supervisor process), so no beat of an earlier
      // run's step can pass for this attempt's.
      const std::string id = fmt::format("{}.{}", getpid(), attempt_number());
      Attempt attempt{active, id, now_seconds(), 0, 0, 0, 0, 0, 0, 0};
      const auto [failure, forwarded_in_step] = run_step(attempt);
      const bool forwarded = forwarded_in_step || stop_pending();  // or it came as the step ended (scancel: at once)
      // The supervisor's own stops (a straggler to leave, nodes to grow back) give way to a forwarded one.
      if (!leaving_.empty() && !forwarded && failure.outcome.exit_code == to_int(ExitCode::requeue)) {
        leave_straggler(attempt);
        continue;
      }
      if (!growing_.empty() && !forwarded && failure.outcome.exit_code == to_int(ExitCode::requeue)) {
        grow_back(attempt);
        continue;
      }
      if (!growing_.empty() && failure.outcome.exit_code != to_int(ExitCode::requeue)) give_up_growing();
      leaving_.clear();
      growing_.clear();
      if (forwarded) {
        if (const auto why = stopped_step(failure.outcome.exit_code, failure.outcome.signal); !why.empty()) {
          return end_on_stop(why);
        }
      }
      const Decision decision =
          decide(taxonomy_, config_.policy, failure,
                 {summary_.restarts, static_cast<int>(healthy.size() - active.size()), shrink_to(failure.blamed_node)});
      if (decision.next == Next::done) return finish(ExitCode::ok, "the step completed");
      const double detected = now_seconds();
      act_on(failure, decision, attempt, detected);
      if (decision.next == Next::stop) return finish(decision.exit_code, decision.reason);
      if (!wait_backoff(decision.backoff_s)) return end_on_stop("stop signal during the backoff");
      ++summary_.restarts;
      pending_fault_ = {detected, attempt.last_step, decision.verdict.fault_code, decision.drain_node};
    }
  }

  // After run(): the job was stopped by SIGTERM alone (stop_ending.hpp); the caller ends the process by it.
  bool terminated() const { return terminated_; }

 private:
  struct PendingFault {
    double detected = 0;
    long last_step = 0;
    std::string fault_code, node;
  };

  int attempt_number() const { return summary_.restarts + summary_.grows + 1; }

  bool may_shrink() const { return min_nodes_ > 0 && min_nodes_ < width_; }

  // The nodes a step runs on when `available` are healthy: --nodes while they last, then (shrunk) the most that
  // are a multiple of --node-multiple.
  int step_width(int available) const {
    if (available >= width_) return width_;
    return available - available % multiple_;
  }

  // With no spare left: the nodes the step may go on with, without `blamed`; 0 when it may not (--min-nodes).
  int shrink_to(const std::string& blamed) const {
    if (!may_shrink() || blamed.empty()) return 0;
    const auto healthy = healthy_nodes();
    const int left = static_cast<int>(healthy.size()) - static_cast<int>(std::count(healthy.begin(), healthy.end(), blamed));
    const int width = step_width(left);
    return width >= min_nodes_ ? width : 0;
  }

  std::vector<std::string> healthy_nodes() const {
    std::vector<std::string> out;
    for (const auto& node : all_) {
      if (!excluded_.count(node)) out.push_back(node);
    }
    return out;
  }

  int ranks_of(const Attempt& attempt) const {
    return static_cast<int>(attempt.nodes.size()) * options_.tasks_per_node;
  }

  std::vector<std::string> srun_command(const Attempt& attempt, bool restart) const {
    std::string list;
    for (const auto& node : attempt.nodes) list += (list.empty() ? "" : ",") + node;
    // --ntasks explicitly: the step would otherwise inherit the whole allocation's SLURM_NTASKS (set by sbatch's
    // --ntasks-per-node), which N nodes minus the spares cannot hold.
    // --kill-on-bad-exit=0: the supervisor ends the step on a task's bad end itself (slurm_step.hpp).
    std::vector<std::string> argv = {"srun", "--mpi=pmix", "--kill-on-bad-exit=0", "-N",
                                     std::to_string(attempt.nodes.size()), "--ntasks",
                                     std::to_string(ranks_of(attempt)), "--ntasks-per-node",
                                     std::to_string(options_.tasks_per_node), "--nodelist", list};
    // A restart shares the nodes the aborted step still holds: a frozen or dead node keeps that step registered
    // until it thaws or Slurm declares it down, and srun would wait for its resources without a word. Its tasks
    // on the nodes reused here have ended (abort_answered); the lost node is not among them.
    if (restart) argv.push_back("--overlap");
    argv.insert(argv.end(), options_.command.begin(), options_.command.end());
    return argv;
  }

  // The attempt's first and latest heartbeats (its first training step is the end of a recovery).
  std::vector<Heartbeat> read_progress(Attempt& attempt) {
    if (options_.heartbeat_dir.empty()) return {};
    const auto beats = beats_of_attempt(read_heartbeats(options_.heartbeat_dir), attempt.id, attempt.started);
    for (const auto& beat : beats) {
      if (attempt.first_beat == 0 || beat.time < attempt.first_beat) attempt.first_beat = beat.time;
      if (attempt.process_started == 0 || beat.started_at < attempt.process_started) {
        attempt.process_started = beat.started_at;
      }
      attempt.mpi_ready = std::max(attempt.mpi_ready, beat.mpi_ready_at);
      attempt.ready = std::max(attempt.ready, beat.ready_at);
      attempt.first_step = beat.resumed_from + 1;
      attempt.last_step = std::max(attempt.last_step, beat.step);
      attempt.last_beat = std::max(attempt.last_beat, beat.time);
    }
    if (attempt.first_beat != 0) note_recovered(attempt);
    return beats;
  }

  std::string blamed_node(const Attempt& attempt, const StepOutcome& first, const std::string& srun_log) const {
    const auto trainer_blame =
        options_.heartbeat_dir.empty() ? std::nullopt : read_blame(options_.heartbeat_dir, attempt.id);
    return node_to_blame(first, srun_log, trainer_blame, attempt.nodes);
  }

  // A hang: why (the bound that ran out, or the rank whose liveness was lost), the node to blame ("" for none),
  // when the heartbeat directory explains it that fault instead of a node, and for a lost rank the evidence.
  struct Hang {
    std::string why, node, dir_fault, liveness_lost;
  };

  // A rank lost or every rank silent (liveness_watch.hpp), else a hang (hang_clock.hpp: the start-up bound until
  // every rank has beaten, then the heartbeat timeout; with --beats liveness, the start-up bound alone). Before a node is blamed, the directory is probed: beats
  // that could not be written are no evidence about any node.
  std::optional<Hang> hung(Attempt& attempt, LivenessWatch& watch) {
    if (options_.heartbeat_dir.empty()) return std::nullopt;
    const double now = now_seconds();
    if (now >= next_file_read_) {
      files_.beats = read_progress(attempt);
      files_.liveness = read_liveness(options_.heartbeat_dir, attempt.id);
      next_file_read_ = now + std::max(kPollSeconds, ranks_of(attempt) / kFilesReadPerSecond);
    }
    const auto& beats = files_.beats;
    const auto liveness = newest_liveness(files_.liveness, inbox_->records());
    watch.observe(liveness, now);
    if (auto unwritable = probe_now(now)) return unwritable;
    const LivenessCheck alive = watch.check(now);
    if (alive.lost || alive.every_silent) return silent(alive, beats);
    const HangCheck check =
        options_.beats == Beats::progress
            ? check_hang(config_.policy, attempt.started, ranks_of(attempt), beats, now)
            : check_liveness_start(config_.policy, attempt.started, ranks_of(attempt), liveness, now);
    if (!check.hung) return std::nullopt;
    const bool say_where = check.starting && check.beats == Beats::progress;  // else no rank named has beaten
    Hang hang{check.reason() + (say_where ? where_starting(check.not_started, liveness) : ""), "",
              dir_fault(beats, alive), ""};
    // A rank that never beat has no node on record: rather than blame one that started, blame none.
    if (hang.dir_fault.empty() && !check.starting) {
      if (const auto blamed = stopped_first(beats, liveness, now, config_.policy.liveness_timeout_s)) {
        hang.node = blamed->node;
      }
    }
    return hang;
  }

  // With liveness by datagram, a full or read-only heartbeat directory no longer silences every rank at once:
  // the supervisor probes it itself, once every kProbeSeconds, and stops on it as it would have on the silence
  // (no node blamed). Without datagrams the silence shows it, and the probe runs only before a node is blamed.
  std::optional<Hang> probe_now(double now) {
    constexpr double kProbeSeconds = 1;
    if (inbox_->port() == 0 || now < next_probe_) return std::nullopt;
    next_probe_ = now + kProbeSeconds;
    const std::string error = probe_heartbeat_dir(options_.heartbeat_dir);
    if (error.empty()) return std::nullopt;
    const std::string fault = fmt::format("heartbeat directory {} not writable: {}", options_.heartbeat_dir, error);
    return Hang{fault, "", fault, ""};
  }

  // For a start-up that ran out: how far each rank without a first step got (a rank beats liveness once MPI
  // start and its data load are done), so that a stuck restart says where it stuck.
  static std::string where_starting(const std::vector<int>& not_started, const std::vector<Liveness>& liveness) {
    std::vector<std::string> parts;
    for (const int rank : not_started) {
      const auto alive = std::find_if(liveness.begin(), liveness.end(), [&](const Liveness& l) { return l.rank == rank; });
      parts.push_back(alive == liveness.end()
                          ? fmt::format("rank {}: no liveness beat (not past srun, MPI start or its data load)", rank)
                          : fmt::format("rank {} on {}: beats liveness (loading its state or in its first step)", rank,
                                        alive->node.empty() ? "?" : alive->node));
    }
    return parts.empty() ? "" : fmt::format(" ({})", fmt::join(parts, "; "));
  }

  // Silent ranks: the lost rank's node (from its liveness, else its progress beat), or the one node of every
  // rank, unless the directory explains the silence.
  Hang silent(const LivenessCheck& alive, const std::vector<Heartbeat>& beats) const {
    Hang hang{alive.reason(), alive.node, dir_fault(beats, alive), alive.evidence()};
    for (const auto& beat : beats) {
      if (hang.node.empty() && alive.lost && beat.rank == alive.rank) hang.node = beat.node;
    }
    if (!hang.dir_fault.empty()) hang.node.clear();
    return hang;
  }

  std::string dir_fault(const std::vector<Heartbeat>& beats, const LivenessCheck& alive) const {
    return heartbeat_dir_fault(options_.heartbeat_dir, probe_heartbeat_dir(options_.heartbeat_dir), beats, alive);
  }

  // Ends the attempt's step: SIGKILL to its tasks (slurm_step.hpp), then srun's abort (StepProcess::abort), which
  // waits until every node but `lost` has reported its tasks' end.
  static StepOutcome abort_step(StepProcess& step, SlurmStep& slurm_step, const Attempt& attempt,
                                const std::string& lost, std::set<std::string>& answered) {
    slurm_step.kill();
    return step.abort(kAbortGraceSeconds, abort_answered(attempt, lost, answered));
  }

  // For an abort: whether every node of the attempt but `lost` (one that may never answer: frozen, dead, cut off)
  // has had srun report its tasks' end. `answered` holds the nodes reported so far; new lines add to it.
  static StepProcess::AbortAnswered abort_answered(const Attempt& attempt, const std::string& lost,
                                                   std::set<std::string>& answered) {
    return [&attempt, lost, &answered](const std::vector<std::string>& lines) {
      for (const auto& line : lines) {
        if (const auto end = srun_task_end(line)) answered.insert(end->node);
      }
      return std::all_of(attempt.nodes.begin(), attempt.nodes.end(),
                         [&](const std::string& node) { return node == lost || answered.count(node) != 0; });
    };
  }

  // This job's steps that slurmctld still holds ("7.0 on n[1-2]"); empty outside a job or when it cannot say.
  static std::vector<std::string> steps_still_held() {
    const auto job = this_job_id();
    if (!job) return {};
    try {
      return job_steps(*job);
    } catch (const Error& e) {
      say(fmt::format("warning: {}", e.what()));
      return {};
    }
  }

  // srun waits, silently, while nodes it asks for are still held by a step that has not ended: on a restart, the
  // aborted step, whose frozen node cannot end it until it thaws. The steps held at the launch are asked again
  // kBlockedCheckSeconds later, while no rank has beaten; any still held is said once (log and ledger), so a
  // restart that waits for a node to thaw is not mistaken for a slow start.
  void note_blocked_start(const Attempt& attempt, std::vector<std::string>& held_at_launch) {
    constexpr double kBlockedCheckSeconds = 5;
    if (held_at_launch.empty() || attempt.first_beat != 0 || now_seconds() - attempt.started < kBlockedCheckSeconds) {
      return;
    }
    std::vector<std::string> still;
    for (const auto& step : steps_still_held()) {
      if (std::find(held_at_launch.begin(), held_at_launch.end(), step) != held_at_launch.end()) still.push_back(step);
    }
    held_at_launch.clear();  // asked once per attempt
    if (still.empty()) return;
    const std::string reason = "the aborted step still holds nodes: srun waits until it ends (a frozen node's step "
                               "ends only when the node thaws or is declared down)";
    say(fmt::format("attempt {} waits to start: {}: step {}", attempt_number(), reason, fmt::join(still, ", ")));
    ledger_.record(LedgerEvent::restart_blocked, {{"attempt", attempt_number()}, {"nodes", attempt.nodes},
                                        {"held_by", still}, {"reason", reason},
                                        {"previous_fault_node", pending_fault_.node}});
  }

  // What the ranks are told: where to beat (the directory, and the port and token for liveness datagrams when
  // the inbox has a socket) and for which attempt, and the site's ledger (the trainer records its guardrails'
  // decisions there, as it does under the SPANK plugin).
  std::vector<std::pair<std::string, std::string>> step_environment(const Attempt& attempt) const {
    std::vector<std::pair<std::string, std::string>> vars = {{env::kHeartbeatDir, options_.heartbeat_dir},
                                                             {env::kHeartbeatAttempt, attempt.id},
                                                             {env::kLedger, config_.paths.ledger}};
    if (inbox_ && inbox_->port() != 0) {
      vars.emplace_back(env::kLivenessPort, std::to_string(inbox_->port()));
      vars.emplace_back(env::kLivenessToken, inbox_->token());
    }
    return vars;
  }

  std::pair<StepFailure, bool> run_step(Attempt& attempt) {
    if (!options_.heartbeat_dir.empty()) reset_heartbeat_dir(options_.heartbeat_dir);
    const bool restart = attempt_number() > 1;
    say(fmt::format("starting the step on {} (attempt {})", fmt::join(attempt.nodes, ","), attempt_number()));
    ledger_.record(LedgerEvent::step_started, {{"nodes", attempt.nodes}, {"attempt", attempt_number()}});
    // Asked before srun starts, so the new step is not among them.
    const auto steps_before = steps_still_held();
    auto held_at_launch = restart ? steps_before : std::vector<std::string>{};
    // The trainer records its guardrails' decisions in the site's ledger, as it does under the SPANK plugin.
    if (inbox_) inbox_->expect(attempt.id);
    files_ = {};
    next_file_read_ = 0;
    StepProcess step(srun_command(attempt, restart), step_environment(attempt));
    LivenessWatch watch(config_.policy.liveness_timeout_s, ranks_of(attempt));
    SlurmStep slurm_step(steps_before, attempt.nodes);
    std::set<std::string> answered;  // nodes srun has reported a task's end on
    bool forwarded = false;
    double next_look = 0, bad_end_at = 0;  // bad_end_at: when srun first reported a task's bad end (0: none)
    while (true) {
      if (auto outcome = step.poll(kPollSeconds)) {
        read_progress(attempt);  // the last heartbeats, for the figures
        const StepOutcome first = first_task_outcome(*outcome);
        return {{first, false, blamed_node(attempt, first, outcome->log)}, forwarded};
      }
      if (const int sig = stop_signal_number(); sig != 0) {
        clear_stop_request();
        note_stop(sig);
        say(fmt::format("forwarding signal {} to the step", sig));
        step.signal(sig);
        forwarded = true;
      }
      // A task killed or crashed: the step is aborted at once. Any other bad end (an exit code, a broken pipe):
      // kBadEndWaitSeconds later unless the step ended, as --kill-on-bad-exit ended it (also after a forwarded
      // stop signal: ranks that save and exit 42 end together).
      const TaskEnds ends = task_ends(attempt, step.take_lines(), answered);
      if (ends.bad && bad_end_at == 0) bad_end_at = now_seconds();
      const bool late = bad_end_at > 0 && now_seconds() - bad_end_at >= kBadEndWaitSeconds;
      if (ends.lost || late) {
        say(ends.lost ? fmt::format("srun reports a task on {} ended: {}: aborting the step", ends.lost->node,
                                    ends.lost->what)
                      : fmt::format("a task ended badly {:.1f}s ago and the step goes on: aborting it",
                                    now_seconds() - bad_end_at));
        const StepOutcome outcome = abort_step(step, slurm_step, attempt, ends.lost ? ends.lost->node : "", answered);
        read_progress(attempt);
        const StepOutcome first = first_task_outcome(outcome);
        return {{first, false, blamed_node(attempt, first, outcome.log)}, forwarded};
      }
      // The directory at most every kPollSeconds, however often srun's output wakes the loop.
      if (now_seconds() < next_look) continue;
      next_look = now_seconds() + kPollSeconds;
      if (!forwarded && leaving_.empty() && growing_.empty()) {
        leaving_ = straggler_to_leave(attempt);
        if (leaving_.empty()) growing_ = nodes_back(attempt);
        // The trainer saves at the step's end and exits 42; the next attempt runs without the straggler, or on
        // the wider set of nodes.
        if (!leaving_.empty() || !growing_.empty()) step.signal(SIGUSR1);
      }
      note_blocked_start(attempt, held_at_launch);
      if (const auto hang = forwarded ? std::nullopt : hung(attempt, watch)) {
        say(hang->why + ": aborting the step");
        StepFailure failure{abort_step(step, slurm_step, attempt, hang->node, answered), true, hang->node,
                            hang->dir_fault, hang->liveness_lost};
        return {failure, false};
      }
    }
  }

  // srun's reports, among new lines of the step's stderr, of the attempt's tasks ending badly: the first one killed
  // or crashed (ends_the_step_at_once: srun would return only once the other tasks end, seconds later), and
  // whether there was any. Records every node reported in `answered`. A line naming a node that is not the
  // attempt's is the program's own output, not srun's.
  struct TaskEnds {
    std::optional<TaskEnd> lost;
    bool bad = false;
  };
  static TaskEnds task_ends(const Attempt& attempt, const std::vector<std::string>& lines,
                            std::set<std::string>& answered) {
    TaskEnds ends;
    for (const auto& line : lines) {
      auto end = srun_task_end(line);
      if (!end || std::find(attempt.nodes.begin(), attempt.nodes.end(), end->node) == attempt.nodes.end()) continue;
      answered.insert(end->node);
      ends.bad = true;
      if (!ends.lost && ends_the_step_at_once(*end)) ends.lost = std::move(end);
    }
    return ends;
  }

  // policy.exclude_stragglers: the first node of this attempt that its trainer flags as a straggler's, when a
  // spare can take its place and a restart is left ("" otherwise). Each flagged node is recorded once.
  std::string straggler_to_leave(const Attempt& attempt) {
    if (!config_.policy.exclude_stragglers || options_.heartbeat_dir.empty()) return "";
    for (const auto& flag : read_straggler_flags(options_.heartbeat_dir, attempt.id)) {
      const bool in_attempt = std::find(attempt.nodes.begin(), attempt.nodes.end(), flag.node) != attempt.nodes.end();
      if (!in_attempt || !stragglers_seen_.insert(flag.node).second) continue;
      const bool can_leave = static_cast<int>(healthy_nodes().size()) > width_ &&
                             summary_.restarts < config_.policy.max_restarts;
      ledger_.record(can_leave ? LedgerEvent::straggler_leaving : LedgerEvent::straggler_kept,
             {{"node", flag.node}, {"rank", flag.rank},
              {"reason", can_leave ? "policy.exclude_stragglers: checkpoint, then restart without the node"
                                   : "no spare node or no restart left"}});
      if (can_leave) {
        say(fmt::format("rank {} on {} is a straggler: stopping the step to restart without it", flag.rank, flag.node));
        return flag.node;
      }
    }
    return "";
  }

  // The step saved its state on the straggler stop: the next attempt runs without the node (not drained: a
  // slow node is not a broken one).
  void leave_straggler(const Attempt& attempt) {
    excluded_.insert(leaving_);
    summary_.excluded.push_back(leaving_);
    ledger_.record(LedgerEvent::node_excluded, {{"node", leaving_}, {"reason", "straggler"}});
    pending_fault_ = {now_seconds(), attempt.last_step, "straggler", leaving_};
    ++summary_.restarts;
    leaving_.clear();
  }

  // Drained nodes that are back (resumed by an admin or a recycle, up, still held by the job: Slurm takes a node
  // it declared down out of a --no-kill job for good), when they widen a step that runs on fewer nodes than
  // asked for and has begun training. Asked at most every kGrowLookSeconds.
  std::vector<std::string> nodes_back(const Attempt& attempt) {
    if (static_cast<int>(attempt.nodes.size()) >= width_ || drained_.empty() || attempt.first_beat == 0 ||
        now_seconds() < next_grow_look_) {
      return {};
    }
    next_grow_look_ = now_seconds() + kGrowLookSeconds;
    const auto job = this_job_id();
    if (!job) return {};
    std::vector<std::string> back;
    try {
      const auto held = job_nodes(*job);
      for (const auto& node : drained_) {
        if (std::find(held.begin(), held.end(), node) == held.end()) continue;
        const NodeStatus status = query_node(node);
        if (!status.drain && !status.down) back.push_back(node);
      }
    } catch (const Error& e) {
      say(fmt::format("warning: {}", e.what()));
      return {};
    }
    const int wider = step_width(static_cast<int>(healthy_nodes().size() + back.size()));
    if (back.empty() || wider <= static_cast<int>(attempt.nodes.size())) return {};
    say(fmt::format("{} back (resumed, still in the job): stopping the step at its next save to go on with {} "
                    "node(s)", fmt::join(back, ","), wider));
    ledger_.record(LedgerEvent::nodes_back, {{"nodes", back}, {"step_nodes", attempt.nodes}, {"width", wider}});
    return back;
  }

  // The step saved its state on the stop for growing: the next attempt runs on the nodes that came back too.
  void grow_back(const Attempt& attempt) {
    for (const auto& node : growing_) {
      excluded_.erase(node);
      drained_.erase(node);
      summary_.rejoined.push_back(node);
    }
    ledger_.record(LedgerEvent::step_growing, {{"nodes", growing_}, {"saved_at_step", attempt.last_step}});
    pending_fault_ = {now_seconds(), attempt.last_step, "grow", fmt::format("{}", fmt::join(growing_, ","))};
    ++summary_.grows;
    growing_.clear();
  }

  // The step stopped for a grow did not save and exit 42 (a program without a checkpoint or a stop-signal
  // handler): the nodes that came back stay out of this job, so the stop is not asked again at every attempt.
  void give_up_growing() {
    const std::string reason = "the step did not save and exit 42 on the stop signal: the node(s) stay out of this job";
    say(fmt::format("{} back, but {}", fmt::join(growing_, ","), reason));
    ledger_.record(LedgerEvent::grow_failed, {{"nodes", growing_}, {"reason", reason}});
    for (const auto& node : growing_) drained_.erase(node);
    growing_.clear();
  }

  void note_recovered(const Attempt& attempt) {
    if (pending_fault_.detected == 0) return;
    const double seconds = attempt.first_beat - pending_fault_.detected;
    const long redone = std::max(0L, pending_fault_.last_step - (attempt.first_step - 1));
    // The split: backoff and decision (detection to srun), step launch (srun to the processes), MPI start, data
    // and checkpoint load (to ready), and the first step (to its heartbeat, polled every kPollSeconds).
    ledger_.record(LedgerEvent::recovered, {{"fault_code", pending_fault_.fault_code}, {"node", pending_fault_.node},
                                  {"fault_to_first_step_s", seconds}, {"steps_redone", redone},
                                  {"resumed_at_step", attempt.first_step},
                                  {"split_s", {{"detection_to_launch", attempt.started - pending_fault_.detected},
                                               {"step_launch", attempt.process_started - attempt.started},
                                               {"mpi_start", attempt.mpi_ready - attempt.process_started},
                                               {"data_and_checkpoint_load", attempt.ready - attempt.mpi_ready},
                                               {"first_step", attempt.first_beat - attempt.ready}}}});
    summary_.faults.push_back(fmt::format("{} on {}: {:.1f}s from detection to the first new step, {} step(s) redone",
                                          pending_fault_.fault_code, pending_fault_.node.empty() ? "-" : pending_fault_.node,
                                          seconds, redone));
    pending_fault_ = {};
  }

  void act_on(const StepFailure& failure, const Decision& decision, const Attempt& attempt, double detected) {
    say(decision.reason);
    nlohmann::json details = failure_event(failure, decision);
    details["last_step"] = attempt.last_step;
    details["detected_after_last_beat_s"] = attempt.last_beat > 0 ? detected - attempt.last_beat : 0;
    ledger_.record(LedgerEvent::step_failed, std::move(details));
    if (decision.drain_node.empty()) return;
    excluded_.insert(decision.drain_node);
    summary_.excluded.push_back(decision.drain_node);
    if (decision.exclude_only) return;
    const std::string reason = fmt::format("sigma: {} {}", decision.verdict.fault_code,
                                           decision.verdict.evidence.empty() ? "in training" : decision.verdict.evidence)
                                   .substr(0, 64);
    try {
      drain_node(decision.drain_node, reason);
      drained_.insert(decision.drain_node);  // may come back (nodes_back); a node only excluded does not
      ledger_.record(LedgerEvent::node_drained, {{"node", decision.drain_node}, {"reason", reason}});
    } catch (const Error& e) {
      say(fmt::format("warning: {} (the node is still excluded from this job)", e.what()));
    }
  }

  bool wait_backoff(double seconds) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    if (seconds > 0) say(fmt::format("restarting in {:.1f}s", seconds));
    while (std::chrono::steady_clock::now() < until) {
      if (stop_requested()) {
        note_stop(stop_signal_number());
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return true;
  }

  // A stop signal not forwarded yet (kept: a restart's backoff still ends on it).
  bool stop_pending() {
    if (!stop_requested()) return false;
    note_stop(stop_signal_number());
    return true;
  }

  void note_stop(int sig) {
    usr1_seen_ = usr1_seen_ || sig == SIGUSR1;
    term_seen_ = term_seen_ || sig == SIGTERM;
  }

  // A stop signal ended the job's training: a requeue (exit 42) or, for SIGTERM alone, the end Slurm asked for.
  ExitCode end_on_stop(const std::string& why) {
    if (stop_ending(usr1_seen_, term_seen_) == StopEnding::requeue) return finish(ExitCode::requeue, why + ", requeue");
    terminated_ = true;
    return finish(ExitCode::ok, why + "; SIGTERM without SIGUSR1 (scancel, the time limit, a preemption): ending by "
                                      "SIGTERM, not asking for a requeue");
  }

  // The ledger and the summary give the status the batch script sees: 128 + 15 when ending by SIGTERM.
  ExitCode finish(ExitCode code, const std::string& why) {
    const int status = terminated_ ? 128 + SIGTERM : to_int(code);
    ledger_.record(LedgerEvent::supervise_ended, {{"exit_code", status}, {"restarts", summary_.restarts},
                                        {"excluded", summary_.excluded}, {"rejoined", summary_.rejoined},
                                        {"reason", why}});
    fmt::print(stderr, "sigma-launch: summary: {} (exit {}); {} restart(s); excluded: {}{}\n", why, status,
               summary_.restarts, summary_.excluded.empty() ? "none" : fmt::format("{}", fmt::join(summary_.excluded, ",")),
               summary_.rejoined.empty() ? "" : fmt::format("; rejoined: {}", fmt::join(summary_.rejoined, ",")));
    for (const auto& fault : summary_.faults) fmt::print(stderr, "sigma-launch:   {}\n", fault);
    return code;
  }

  const SuperviseOptions& options_;
  const SiteConfig& config_;
  // What happened goes to the ledger; a user who cannot write root's ledger gets a warning (LedgerWriter).
  const LedgerWriter ledger_{config_.paths.ledger, Component::launcher, "sigma-launch"};
  Taxonomy taxonomy_;
  std::vector<std::string> all_;
  std::set<std::string> excluded_;
  std::set<std::string> drained_;  // excluded nodes this supervisor drained: they may come back
  std::set<std::string> stragglers_seen_;
  std::string leaving_;  // the straggler's node this attempt was stopped to leave
  std::vector<std::string> growing_;  // the nodes back that this attempt was stopped to take in
  double next_grow_look_ = 0;
  // Liveness datagrams from the ranks: only with a heartbeat directory (no socket or thread without one).
  std::optional<LivenessInbox> inbox_;
  struct {
    std::vector<Heartbeat> beats;
    std::vector<Liveness> liveness;
  } files_;                 // the attempt's heartbeat files as last read
  double next_file_read_ = 0;
  double next_probe_ = 0;   // when the heartbeat directory is probed next (probe_now)
  int spares_ = 0, width_ = 0, min_nodes_ = 0, multiple_ = 1;
  bool usr1_seen_ = false, term_seen_ = false, terminated_ = false;  // stop signals this job got; its end
  Summary summary_;
  PendingFault pending_fault_;
};

// Dies by SIGTERM (its default action), as a process Slurm terminated does: the batch script's status is then
// 0:15, a cancelled job's.
void end_by_sigterm() {
  std::fflush(nullptr);
  ::signal(SIGTERM, SIG_DFL);
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_UNBLOCK, &term, nullptr);
  raise(SIGTERM);
}

}  // namespace

ExitCode supervise(const SuperviseOptions& options, const SiteConfig& config) {
  if (options.command.empty()) throw Error(ExitCode::usage, "supervise: expected -- COMMAND [ARGS...]");
  Supervisor supervisor(options, config);
  const ExitCode code = supervisor.run();
  if (supervisor.terminated()) end_by_sigterm();
  return code;
}

}  // namespace sigma::launch
