#include "sigma/launcher/hang_clock.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace sigma::launch {

namespace {

// The start-up part of either check: which of the step's ranks have not beaten yet.
HangCheck not_started(int ranks, const std::set<int>& beaten, Beats kind) {
  HangCheck check;
  check.beats = kind;
  for (int rank = 0; rank < ranks; ++rank) {
    if (!beaten.count(rank)) check.not_started.push_back(rank);
  }
  check.starting = !check.not_started.empty();
  return check;
}

}  // namespace

HangCheck check_hang(const PolicyConfig& policy, double launched, int ranks, const std::vector<Heartbeat>& beats,
                     double now) {
  std::set<int> beaten;
  double newest = 0;
  for (const auto& beat : beats) {
    beaten.insert(beat.rank);
    newest = std::max(newest, beat.time);
  }
  HangCheck check = not_started(ranks, beaten, Beats::progress);
  check.waited_s = now - (check.starting ? launched : std::max(launched, newest));
  check.bound_s = check.starting ? policy.startup_timeout_s : policy.heartbeat_timeout_s;
  check.hung = check.waited_s >= check.bound_s;
  return check;
}

HangCheck check_liveness_start(const PolicyConfig& policy, double launched, int ranks,
                               const std::vector<Liveness>& liveness, double now) {
  std::set<int> beaten;
  for (const auto& record : liveness) beaten.insert(record.rank);
  HangCheck check = not_started(ranks, beaten, Beats::liveness);
  if (!check.starting) return check;
  check.waited_s = now - launched;
  check.bound_s = policy.startup_timeout_s;
  check.hung = check.waited_s >= check.bound_s;
  return check;
}

std::string HangCheck::reason() const {
  if (!starting) {
    return fmt::format("no heartbeat progress for {:.0f}s (policy.heartbeat_timeout_s: {:.0f})", waited_s, bound_s);
  }
  constexpr std::size_t kNamed = 8;  // a 4,096-rank step that never started need not list them all
  const std::vector<int> named(not_started.begin(), not_started.begin() + std::min(kNamed, not_started.size()));
  return fmt::format("no first {} from rank(s) {}{} {:.0f}s after the launch (policy.startup_timeout_s: {:.0f})",
                     beats == Beats::progress ? "heartbeat" : "liveness beat", fmt::join(named, ","),
                     not_started.size() > kNamed ? ",..." : "", waited_s, bound_s);
}

std::vector<Heartbeat> beats_of_attempt(const std::vector<Heartbeat>& beats, const std::string& attempt,
                                        double launched) {
  std::vector<Heartbeat> ours;
  for (const auto& beat : beats) {
    if (beat.attempt == attempt && beat.time >= launched) ours.push_back(beat);
  }
  return ours;
}

std::string heartbeat_dir_fault(const std::string& dir, const std::string& probe_error,
                                const std::vector<Heartbeat>& beats, const LivenessCheck& liveness) {
  if (!probe_error.empty()) return fmt::format("heartbeat directory {} not writable: {}", dir, probe_error);
  if (!liveness.every_silent) return "";  // a rank still beats: the directory takes beats
  std::set<std::string> nodes = liveness.nodes;
  for (const auto& beat : beats) {
    if (!beat.node.empty()) nodes.insert(beat.node);
  }
  if (nodes.size() < 2) return "";  // one node's ranks all silent: evidence about that node
  return fmt::format("heartbeat directory {} not writable: no liveness beat from any of the {} ranks on {} nodes for "
                     "{:.0f}s (every rank at once: their writes fail there, though this host's probe worked)",
                     dir, liveness.seen, nodes.size(), liveness.silent_s);
}

}  // namespace sigma::launch
