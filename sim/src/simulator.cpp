#include "sigma/sim/simulator.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <queue>
#include <random>

#include "sigma/sim/checkpoint_model.hpp"

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

// Training and stall time in a run of `length` seconds that started right after a restart, and the part of
// the training that a committed checkpoint holds.
struct Segment {
  double training = 0;
  double stall = 0;
  double committed = 0;
};

Segment split_segment(double length, double interval, double stall_per_save, bool async) {
  Segment out;
  if (!std::isfinite(interval)) {
    out.training = length;
    return out;
  }
  const double cycle = interval + stall_per_save;
  const double saves = std::floor(length / cycle);
  const double rest = length - saves * cycle;
  out.training = saves * interval + std::min(rest, interval);
  out.stall = saves * stall_per_save + std::max(0.0, rest - interval);
  // An async save is committed at the next hook, so the newest committed one lags by an interval.
  out.committed = (async ? std::max(0.0, saves - 1) : saves) * interval;
  return out;
}

class Run {
 public:
  Run(const Scenario& s, double interval_s, uint64_t seed)
      : s_(s), random_(seed), interval_(interval_s), horizon_(s.horizon_days * 86400), pool_good_(s.cluster.spare_nodes),
        failure_rate_(s.failures_per_accelerator_day / 86400 * job_accelerators(s)), load_(load_s(s)) {
    stall_per_save_ = save_stall_s(s);
    if (s.checkpoint.async) stall_per_save_ += std::max(0.0, save_s(s) - interval_);  // the previous write must end
    for (const auto& c : s.classes) share_total_ += c.share;
    result_.per_class.assign(s.classes.size(), 0);
    result_.horizon_s = horizon_;
    bad_class_ = class_index(s, s.nodes.bad_node_class);
  }

  RunResult run() {
    while (now_ < horizon_) {
      if (!train_until_failure()) break;
      handle_failure();
    }
    result_.utilization = result_.useful_s * job_nodes(s_) / (horizon_ * s_.cluster.nodes);
    return result_;
  }

 private:
  // Trains from a restart until the next failure or the horizon; false at the horizon.
  bool train_until_failure() {
    const double bad_rate = s_.nodes.bad_node_mttf_s > 0 ? job_bad_ / s_.nodes.bad_node_mttf_s : 0;
    const double rate = failure_rate_ + bad_rate;
    const double gap = random_.exponential(rate);
    const bool at_horizon = now_ + gap >= horizon_;
    const Segment seg = split_segment(at_horizon ? horizon_ - now_ : gap, interval_, stall_per_save_,
                                      s_.checkpoint.async);
    result_.stall_s += seg.stall;
    // At the horizon the job goes on: its uncommitted training is not lost.
    result_.useful_s += at_horizon ? seg.training : seg.committed;
    result_.redone_s += at_horizon ? 0 : seg.training - seg.committed;
    if (at_horizon) {
      now_ = horizon_;
      return false;
    }
    now_ += gap;
    failing_bad_node_ = random_.chance(bad_rate / rate);
    return true;
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
    if (!spend(result_.recovery_s, c.detect_s)) return;
    bool requeue = !s_.policy.in_allocation_restart;
    bool new_node = false;
    if (c.node != NodeEffect::stays) {
      drain(c);
      new_node = true;
      if (!take_spare()) {
        ++result_.spare_exhaustions;
        requeue = true;  // sigma exits 10 when no spare is left; Slurm requeues once nodes are back
        if (!wait_for_spare()) return;
      }
    }
    double restart = c.restart_s;
    if (requeue) {
      ++result_.requeues;
      restart = s_.policy.requeue_s + s_.policy.queue_wait_s + (new_node && s_.policy.preflight ? s_.policy.preflight_s : 0);
    }
    spend(result_.recovery_s, restart + load_);
  }

  // Adds `seconds` (clipped at the horizon) to `bucket`; false once the horizon is reached.
  bool spend(double& bucket, double seconds) {
    const double used = std::min(seconds, horizon_ - now_);
    bucket += used;
    now_ += used;
    return now_ < horizon_;
  }

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
  double failure_rate_;
  double load_;
  double stall_per_save_ = 0;
  double share_total_ = 0;
  int bad_class_ = -1;
  int pool_bad_ = 0;
  int job_bad_ = 0;
  bool failing_bad_node_ = false;
  double now_ = 0;
  std::priority_queue<NodeReturn, std::vector<NodeReturn>, std::greater<>> returns_;
  RunResult result_;
};

// Every scalar field, so sums and means cannot miss one.
std::vector<double RunResult::*> scalar_fields() {
  return {&RunResult::horizon_s,     &RunResult::useful_s,          &RunResult::stall_s,
          &RunResult::redone_s,      &RunResult::recovery_s,        &RunResult::waiting_s,
          &RunResult::interruptions, &RunResult::bad_node_failures, &RunResult::spare_exhaustions,
          &RunResult::requeues,      &RunResult::utilization};
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
