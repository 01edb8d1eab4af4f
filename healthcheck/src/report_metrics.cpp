// Prometheus textfile (node_exporter's textfile collector) and the ledger event.
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "sigma/core/durable_file.hpp"
#include "sigma/core/error.hpp"
#include "sigma/contracts/ledger.hpp"
#include "sigma/core/wall_clock.hpp"
#include "sigma/healthcheck/report.hpp"

namespace sigma::hc {
namespace {

constexpr const char* kTextfileName = "sigma_healthcheck.prom";

// Label values are our own check and metric names, but escape anyway: the format breaks on a stray quote.
std::string label(const std::string& value) {
  std::string out;
  for (char ch : value) {
    if (ch == '\\' || ch == '"') out += '\\';
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out += ch;
  }
  return out;
}

}  // namespace

std::string format_prometheus(const RunReport& report) {
  const double now = now_seconds();
  const std::string level = label(report.level);
  std::string out;
  out += "# HELP sigma_healthcheck_passed 1 when the last preflight passed.\n# TYPE sigma_healthcheck_passed gauge\n";
  out += fmt::format("sigma_healthcheck_passed{{level=\"{}\"}} {}\n", level, report.exit_code == ExitCode::ok ? 1 : 0);
  out += "# HELP sigma_healthcheck_exit_code Exit code of the last preflight.\n";
  out += "# TYPE sigma_healthcheck_exit_code gauge\n";
  out += fmt::format("sigma_healthcheck_exit_code{{level=\"{}\"}} {}\n", level, to_int(report.exit_code));
  out += "# HELP sigma_healthcheck_last_run_timestamp_seconds When the last preflight finished.\n";
  out += "# TYPE sigma_healthcheck_last_run_timestamp_seconds gauge\n";
  out += fmt::format("sigma_healthcheck_last_run_timestamp_seconds{{level=\"{}\"}} {:.3f}\n", level, now);
  out += "# HELP sigma_healthcheck_check_status 1 pass, 0 fail, -1 skipped.\n";
  out += "# TYPE sigma_healthcheck_check_status gauge\n";
  for (const auto& r : report.results) {
    const int value = r.status == CheckStatus::pass ? 1 : r.status == CheckStatus::fail ? 0 : -1;
    out += fmt::format("sigma_healthcheck_check_status{{level=\"{}\",check=\"{}\"}} {}\n", level, label(r.name),
                       value);
  }
  out += "# HELP sigma_healthcheck_check_seconds Wall time of each check.\n";
  out += "# TYPE sigma_healthcheck_check_seconds gauge\n";
  for (const auto& r : report.results) {
    out += fmt::format("sigma_healthcheck_check_seconds{{level=\"{}\",check=\"{}\"}} {:.3f}\n", level,
                       label(r.name), r.seconds);
  }
  out += "# HELP sigma_healthcheck_metric Measured figure of a check (GFLOP/s, GB/s, microseconds).\n";
  out += "# TYPE sigma_healthcheck_metric gauge\n";
  for (const auto& r : report.results) {
    for (const auto& [name, value] : r.metrics) {
      out += fmt::format("sigma_healthcheck_metric{{level=\"{}\",check=\"{}\",metric=\"{}\"}} {}\n", level,
                         label(r.name), label(name), value);
    }
  }
  return out;
}

void write_prometheus_textfile(const std::string& metrics_dir, const RunReport& report) {
  // node_exporter reads only *.prom; the temp file durable_file writes first starts with '.', invisible to it.
  write_file_durably(metrics_dir + "/" + kTextfileName, format_prometheus(report));
}

void record_report(const LedgerWriter& ledger, const RunReport& report) {
  ledger.record(report.exit_code == ExitCode::ok ? LedgerEvent::preflight_pass : LedgerEvent::preflight_fail,
                to_json(report));
}

}  // namespace sigma::hc
