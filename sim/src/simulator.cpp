#include "sigma/sim/simulator.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <queue>
#include <random>

#include "sigma/sim/checkpoint_model.hpp"
#include "sigma/sim/memory_copy_model.hpp"
#include "sigma/sim/shrink_model.hpp"

namespace sigma::sim {
namespace {

// Uniform and exponential draws from mt19937_64's specified output, so a seed gives the same run everywhere
// (std::*_distribution algorithms differ between standard libraries).
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double exponential(double rate) { return rate > 0 ? -std::log1p(-uniform()) / rate : HUGE_VAL; }
  bool chance(double p) { return uniform() < p; }

 private:
  std::mt19937_64 engine_;
};

struct NodeReturn {
  double time;
  bool bad;
  bool operator>(const NodeReturn& other) const { return time > other.time; }
};

// When a save's checkpoint becomes the one a restart loads.
enum class Commit {
  at_save,       // synchronous: when the save ends
  when_durable,  // asynchronous: once every shard is written, the write time after the stall
  at_next_save,  // asynchronous: at the next save's hook, an interval later
};

// Training and stall time in a run of `length` seconds that started right after a restart, and how many saves'
// checkpoints are committed.
struct Segment {
  double training = 0;
  double stall = 0;
  double committed_saves = 0;
};

Segment split_segment(double length, double interval, double stall_per_save, double write_s, Commit commit) {
  Segment out;
  if (!std::isfinite(interval)) {
    out.training = length;
    return out;
  }
  const double cycle = interval + stall_per_save;
  const double saves = std::floor(length / cycle);
  const double rest = length - saves * cycle;  // since the last completed save's stall ended
  out.training = saves * interval + std::min(rest, interval);
  out.stall = saves * stall_per_save + std::max(0.0, rest - interval);
  const double previous = std::max(0.0, saves - 1);
  switch (commit) {
    case Commit::at_save: out.committed_saves = saves; break;
    case Commit::when_durable: out.committed_saves = rest >= write_s ? saves : previous; break;
    case Commit::at_next_save: out.committed_saves = previous; break;
  }
  return out;
}

Commit commit_rule(const Checkpoint& c) {
  if (!c.async) return Commit::at_save;
  return c.commit_when_durable ? Commit::when_durable : Commit::at_next_save;
}

class Run {
 public:
  Run(const Scenario& s, double interval_s, uint64_t seed)
      : s_(s), random_(seed), interval_(interval_s), horizon_(s.horizon_days * 86400), pool_good_(s.cluster.spare_nodes),
        full_(job_nodes(s)), width_(full_), load_(load_s(s)), write_(save_s(s)), commit_(commit_rule(s.checkpoint)),
        every_steps_(memory_copy_every_steps(s)), copy_share_(memory_copy_overhead(s, every_steps_)),
        memory_restore_(s.memory_copy.enabled ? memory_restore_s(s) : 0) {
    speed_ = relative_speed(s, full_, full_);  // below 1 where some nodes form no whole replica
    stall_per_save_ = save_stall_s(s);
    if (s.checkpoint.async) stall_per_save_ += std::max(0.0, write_ - interval_);  // the previous write must end
    for (const auto& c : s.classes) share_total_ += c.share;
    result_.per_class.assign(s.classes.size(), 0);
    result_.horizon_s = horizon_;
    bad_class_ = class_index(s, s.nodes.bad_node_class);
  }

  RunResult run() {
    while (now_ < horizon_) {
      const Event event = train_until_event();
      if (event == Event::horizon) break;
      if (event == Event::failure) handle_failure();
      else grow();
    }
    result_.useful_s = progress_;
    result_.utilization = result_.useful_s * full_ / (horizon_ * s_.cluster.nodes);
    return result_;
  }

 private:
  enum class Event { failure, node_back, horizon };

  // Trains from a restart until the next failure, a node's return that lets a narrowed job grow, or the horizon.
  Event train_until_event() {
    while (true) {
      const double bad_rate = s_.nodes.bad_node_mttf_s > 0 ? job_bad_ / s_.nodes.bad_node_mttf_s : 0;
      const double rate = s_.failures_per_accelerator_day / 86400 * (width_ * s_.cluster.accelerators_per_node) + bad_rate;
      const double failure_at = now_ + random_.exponential(rate);
      const double back_at = can_grow() ? std::max(now_, returns_.top().time) : HUGE_VAL;
      if (std::min(failure_at, back_at) >= horizon_) {
        now_ = horizon_;
        close_segment();  // at the horizon the job goes on: its uncommitted training is not lost
        return Event::horizon;
      }
      if (failure_at <= back_at) {
        now_ = failure_at;
        close_segment();
        failing_bad_node_ = random_.chance(bad_rate / rate);
        return Event::failure;
      }
      now_ = back_at;
      admit_returns();
      if (pool_good_ + pool_bad_ > 0) {
        close_segment();  // the job grows at a step boundary: nothing is lost
        return Event::node_back;
      }
      // The node failed preflight and went back to repair: training goes on (failures are memoryless).
    }
  }

  // Accounts the training since the last restart (at the current width) and where a restore would take it.
  void close_segment() {
    const Segment seg = split_segment(now_ - segment_start_, interval_, stall_per_save_, write_, commit_);
    const double kept = speed_ * (1 - copy_share_);  // progress per second of training
    result_.stall_s += speed_ * seg.stall;
    result_.memory_s += speed_ * copy_share_ * seg.training;
    result_.narrow_s += (1 - speed_) * (seg.training + seg.stall);
    const double start = progress_;
    progress_ += kept * seg.training;
    if (seg.committed_saves > 0) file_point_ = start + kept * seg.committed_saves * interval_;
    if (s_.memory_copy.enabled) {
      const double step = s_.memory_copy.step_s / speed_;  // the same global batch on fewer replicas
      memory_point_ = start + kept * (seg.training - memory_redone_s(seg.training, step, every_steps_));
    }
  }

  // The job loses what the restored state does not hold.
  void roll_back(bool from_memory) {
    const double target = from_memory ? std::max(memory_point_, file_point_) : file_point_;
    result_.redone_s += progress_ - target;
    progress_ = target;
  }

  void restart_segment() {
    segment_start_ = now_;
    speed_ = relative_speed(s_, width_, full_);
  }

  int draw_class() {
    double pick = random_.uniform() * share_total_;
    for (size_t i = 0; i < s_.classes.size(); ++i) {
      pick -= s_.classes[i].share;
      if (pick < 0) return static_cast<int>(i);
    }
    return static_cast<int>(s_.classes.size()) - 1;
  }

  void handle_failure() {
    const int index = failing_bad_node_ ? bad_class_ : draw_class();
    const FailureClass& c = s_.classes[index];
    ++result_.interruptions;
    ++result_.per_class[index];
    if (failing_bad_node_) {
      ++result_.bad_node_failures;
      --job_bad_;
    }
    // The failed node's partner node lost in the same incident: it goes the same way, memory cannot restore.
    const bool partner_lost = s_.memory_copy.enabled && c.node != NodeEffect::stays &&
                              random_.chance(s_.memory_copy.partner_loss_fraction);
    bool from_memory = memory_restores(s_) && !partner_lost;
    if (!spend(result_.recovery_s, detect_s(s_, c))) return roll_back(from_memory);
    bool requeue = !s_.policy.in_allocation_restart;
    bool new_node = false;
    if (c.node != NodeEffect::stays) {
      for (int lost = partner_lost ? 2 : 1; lost > 0; --lost) {
        drain(c);
        new_node = true;
        if (take_spare()) continue;
        if (can_shrink()) {
          --width_;
          ++result_.shrinks;
          continue;
        }
        ++result_.spare_exhaustions;
        requeue = true;  // sigma exits 10 when no spare is left; Slurm requeues once nodes are back
        if (!wait_for_spare()) return roll_back(false);
      }
    }
    from_memory = from_memory && !requeue;  // a requeued job runs on other nodes: only the file holds its state
    roll_back(from_memory);
    ++(from_memory ? result_.memory_restores : result_.file_restores);
    double restart = c.restart_s;
    if (requeue) {
      ++result_.requeues;
      restart = s_.policy.requeue_s + s_.policy.queue_wait_s + (new_node && s_.policy.preflight ? s_.policy.preflight_s : 0);
    }
    spend(result_.recovery_s, restart + (from_memory ? memory_restore_ : load_));
    restart_segment();
  }

  // Returned nodes rejoin a narrowed job at the next step boundary as sigma-launch does it: the job saves
  // synchronously on its stop signal (nothing redone) and the wider restart loads that save.
  void grow() {
    while (width_ < full_ && take_spare()) ++width_;
    ++result_.grows;
    file_point_ = progress_;
    spend(result_.recovery_s, s_.shrink.grow_s + write_ + load_);
    restart_segment();
  }

  // Adds `seconds` (clipped at the horizon) to `bucket`; false once the horizon is reached.
  bool spend(double& bucket, double seconds) {
    const double used = std::min(seconds, horizon_ - now_);
    bucket += used;
    now_ += used;
    return now_ < horizon_;
  }

  bool can_shrink() const {
    return s_.shrink.enabled && s_.policy.in_allocation_restart && replicas(s_, width_ - 1) >= 1;
  }

  bool can_grow() const { return s_.shrink.enabled && width_ < full_ && !returns_.empty(); }

  double back_in_service_s() const { return s_.policy.recycling ? s_.policy.recycle_s : s_.policy.manual_triage_s; }

  void send_to_repair(double repair_s) {
    returns_.push({now_ + repair_s + back_in_service_s(), random_.chance(s_.nodes.return_bad_fraction)});
  }

  void drain(const FailureClass& c) {
    if (c.node == NodeEffect::recycle) returns_.push({now_ + back_in_service_s(), false});
    else send_to_repair(c.repair_s);
  }

  // Nodes back from recycling or repair join the pool; preflight catches most faulty ones first.
  void admit_returns() {
    while (!returns_.empty() && returns_.top().time <= now_) {
      NodeReturn node = returns_.top();
      returns_.pop();
      if (!node.bad) ++pool_good_;
      else if (s_.policy.preflight && random_.chance(s_.policy.preflight_detection)) {
        send_to_repair(s_.classes[bad_class_].repair_s);
      } else {
        ++pool_bad_;
      }
    }
  }

  bool take_spare() {
    admit_returns();
    const int pool = pool_good_ + pool_bad_;
    if (pool == 0) return false;
    if (random_.chance(static_cast<double>(pool_bad_) / pool)) {
      --pool_bad_;
      ++job_bad_;
    } else {
      --pool_good_;
    }
    return true;
  }

  // Waits for the next node to come back (and pass preflight); false when the horizon comes first.
  bool wait_for_spare() {
    while (true) {
      const double next = returns_.empty() ? horizon_ : std::min(returns_.top().time, horizon_);
      if (!spend(result_.waiting_s, next - now_)) return false;
      if (take_spare()) return true;
    }
  }

  const Scenario& s_;
  Random random_;
  double interval_;
  double horizon_;
  int pool_good_;
  int full_;   // the job's nodes at full width
  int width_;  // the nodes it runs on now
  double load_;
  double write_;
  Commit commit_;
  int every_steps_;
  double copy_share_;
  double memory_restore_;
  double stall_per_save_ = 0;
  double share_total_ = 0;
  int bad_class_ = -1;
  int pool_bad_ = 0;
  int job_bad_ = 0;
  bool failing_bad_node_ = false;
  double now_ = 0;
  double segment_start_ = 0;
  double speed_ = 1;          // throughput at width_ as a share of all the job's nodes working
  double progress_ = 0;       // training the job's state holds, in seconds at full width
  double file_point_ = 0;     // the progress the newest committed file checkpoint holds
  double memory_point_ = 0;   // the progress the newest usable in-memory copy holds
  std::priority_queue<NodeReturn, std::vector<NodeReturn>, std::greater<>> returns_;
  RunResult result_;
};

// Every scalar field, so sums and means cannot miss one.
std::vector<double RunResult::*> scalar_fields() {
  return {&RunResult::horizon_s,       &RunResult::useful_s,          &RunResult::stall_s,
          &RunResult::memory_s,        &RunResult::narrow_s,          &RunResult::redone_s,
          &RunResult::recovery_s,      &RunResult::waiting_s,         &RunResult::interruptions,
          &RunResult::bad_node_failures, &RunResult::spare_exhaustions, &RunResult::requeues,
          &RunResult::memory_restores, &RunResult::file_restores,     &RunResult::shrinks,
          &RunResult::grows,           &RunResult::utilization};
}

}  // namespace

RunResult simulate_once(const Scenario& s, double interval_s, uint64_t seed) {
  return Run(s, interval_s, seed).run();
}

RunResult simulate(const Scenario& s, double interval_s) {
  RunResult sum;
  sum.per_class.assign(s.classes.size(), 0);
  const double n = s.replications;
  for (int i = 0; i < s.replications; ++i) {
    const RunResult r = simulate_once(s, interval_s, s.seed + i);
    for (auto field : scalar_fields()) sum.*field += r.*field / n;
    for (size_t c = 0; c < r.per_class.size(); ++c) sum.per_class[c] += r.per_class[c] / n;
  }
  return sum;
}

}  // namespace sigma::sim
