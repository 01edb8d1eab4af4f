#include "sigma/spank/job_verdict.hpp"

namespace sigma::spank {
namespace {

constexpr const char* kArea = "jobs";

std::string record_name(const std::string& job_id, const std::string& node) { return job_id + "." + node; }

}  // namespace

void write_job_verdict(StateDir& state, const std::string& job_id, const std::string& node, const JobVerdict& v) {
  state.write(kArea, record_name(job_id, node),
              {{"level", level_name(v.level)}, {"verdict", verdict_name(v.verdict)}, {"reason", v.reason}, {"seconds", v.seconds},
               {"requeue_cap", v.requeue_cap}, {"restart_count", v.restart_count}});
}

std::optional<JobVerdict> read_job_verdict(const StateDir& state, const std::string& job_id, const std::string& node) {
  const auto record = state.read(kArea, record_name(job_id, node));
  if (!record) return std::nullopt;
  const auto level = parse_level(record->value("level", ""));
  const auto verdict = parse_prolog_verdict(record->value("verdict", ""));
  if (!level || !verdict) return std::nullopt;
  return JobVerdict{*level, *verdict, record->value("reason", ""), record->value("seconds", 0.0),
                    record->value("requeue_cap", 0), record->value("restart_count", 0u)};
}

void remove_job_verdict(StateDir& state, const std::string& job_id, const std::string& node) {
  state.remove(kArea, record_name(job_id, node));
}

}  // namespace sigma::spank
