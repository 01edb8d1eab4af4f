// The human view: one progress line per check while running, a table at the end.
#include <fmt/format.h>

#include "sigma/healthcheck/report.hpp"

namespace sigma::hc {
namespace {

std::string key_metrics(const CheckResult& r) {
  std::string out;
  for (const auto& [name, value] : r.metrics) {
    if (name == "bad_elements") continue;
    if (!out.empty()) out += ' ';
    out += fmt::format("{}={:.4g}", name, value);
  }
  return out;
}

}  // namespace

std::string format_progress_line(const CheckResult& r) {
  std::string status(to_string(r.status));
  for (auto& ch : status) ch = static_cast<char>(std::toupper(ch));
  return fmt::format("{:<4} {:<12} {:6.2f}s  {}", status, r.name, r.seconds, r.reason);
}

std::string format_table(const RunReport& report) {
  std::string out = fmt::format("sigma-healthcheck level={} node_type={}\n", report.level, report.node_type);
  out += fmt::format("{:<12} {:<5} {:>8}  {:<28} {}\n", "check", "state", "seconds", "reason", "metrics");
  for (const auto& r : report.results) {
    out += fmt::format("{:<12} {:<5} {:>8.2f}  {:<28} {}\n", r.name, to_string(r.status), r.seconds,
                       r.reason.empty() ? "-" : r.reason, key_metrics(r));
    for (const auto& note : r.notes) out += fmt::format("{:<12} note: {}\n", "", note);
  }
  out += fmt::format("verdict: {} (exit {}) in {:.1f}s{}\n", report.exit_code == ExitCode::ok ? "pass" : "FAIL",
                     to_int(report.exit_code), report.seconds, report.reason.empty() ? "" : ": " + report.reason);
  for (const auto& slow : report.unjudged) out += fmt::format("not judged (other jobs share this node): {}\n", slow);
  return out;
}

nlohmann::json to_json(const RunReport& report) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& r : report.results) checks.push_back(to_json(r));
  return {{"level", report.level},         {"node_type", report.node_type},
          {"passed", report.exit_code == ExitCode::ok},
          {"exit_code", to_int(report.exit_code)}, {"reason", report.reason},
          {"seconds", report.seconds},     {"unjudged", report.unjudged}, {"checks", checks}};
}

}  // namespace sigma::hc
