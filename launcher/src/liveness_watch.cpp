#include "sigma/launcher/liveness_watch.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace sigma::launch {

void LivenessWatch::observe(const std::vector<Liveness>& records, double now) {
  for (const auto& record : records) {
    auto [it, fresh] = seen_.try_emplace(record.rank);
    if (!fresh && it->second.written == record.time) continue;
    it->second.written = record.time;
    it->second.changed_at = now;
    if (!record.node.empty()) it->second.node = record.node;
  }
}

LivenessCheck LivenessWatch::check(double now) const {
  LivenessCheck check;
  check.timeout_s = timeout_s_;
  check.seen = static_cast<int>(seen_.size());
  if (seen_.empty()) return check;
  const Seen* stalest = nullptr;
  int stalest_rank = -1;
  double newest = 0, shortest = std::numeric_limits<double>::max();
  for (const auto& [rank, seen] : seen_) {
    if (!seen.node.empty()) check.nodes.insert(seen.node);
    newest = std::max(newest, seen.changed_at);
    shortest = std::min(shortest, now - seen.changed_at);
    if (now - seen.changed_at > timeout_s_ && (!stalest || seen.changed_at < stalest->changed_at)) {
      stalest = &seen;
      stalest_rank = rank;
    }
  }
  if (!stalest) return check;
  if (shortest > timeout_s_) {
    // Every rank silent at once; judged only once every rank of the step has beaten (the others may still start).
    check.every_silent = check.seen == ranks_;
    check.silent_s = shortest;
    if (check.nodes.size() == 1) check.node = *check.nodes.begin();
    return check;
  }
  check.lost = newest >= stalest->changed_at + kLivenessEvidence_s;
  check.rank = stalest_rank;
  check.node = stalest->node;
  check.silent_s = now - stalest->changed_at;
  return check;
}

std::string LivenessCheck::evidence() const {
  if (every_silent) return fmt::format("no liveness beat from any rank for {:.1f}s", silent_s);
  return fmt::format("rank {}{}: no liveness beat for {:.1f}s", rank, node.empty() ? "" : " on " + node, silent_s);
}

std::string LivenessCheck::reason() const {
  if (every_silent) {
    return fmt::format("no liveness beat from any of the {} ranks ({} node(s)) for {:.1f}s (policy.liveness_timeout_s: "
                       "{:g})", seen, nodes.size(), silent_s, timeout_s);
  }
  return fmt::format("{} while the other ranks beat on (policy.liveness_timeout_s: {:g}): its process or node is "
                     "lost", evidence(), timeout_s);
}

}  // namespace sigma::launch
