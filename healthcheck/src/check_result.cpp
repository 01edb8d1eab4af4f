// CheckResult <-> JSON: the child process hands its result to the parent as one JSON document.
#include "sigma/healthcheck/check.hpp"

namespace sigma::hc {

std::string_view to_string(CheckStatus status) {
  switch (status) {
    case CheckStatus::pass: return "pass";
    case CheckStatus::fail: return "fail";
    case CheckStatus::skip: return "skip";
  }
  return "fail";
}

nlohmann::json to_json(const CheckResult& r) {
  return {{"name", r.name},         {"status", to_string(r.status)}, {"reason", r.reason},
          {"timed_out", r.timed_out}, {"below_baseline", r.below_baseline}, {"seconds", r.seconds},        {"metrics", r.metrics},
          {"notes", r.notes}};
}

CheckResult check_result_from_json(const nlohmann::json& j) {
  CheckResult r;
  r.name = j.at("name").get<std::string>();
  const auto status = j.at("status").get<std::string>();
  r.status = status == "pass" ? CheckStatus::pass : status == "skip" ? CheckStatus::skip : CheckStatus::fail;
  r.reason = j.at("reason").get<std::string>();
  r.timed_out = j.at("timed_out").get<bool>();
  r.below_baseline = j.value("below_baseline", false);
  r.seconds = j.at("seconds").get<double>();
  r.metrics = j.at("metrics").get<std::map<std::string, double>>();
  r.notes = j.at("notes").get<std::vector<std::string>>();
  return r;
}

}  // namespace sigma::hc
