// Ways a run report leaves the process: a table for people, JSON for programs, a Prometheus textfile for
// node_exporter, and an event in the ledger.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "sigma/contracts/ledger.hpp"
#include "sigma/healthcheck/runner.hpp"

namespace sigma::hc {

std::string format_table(const RunReport& report);
std::string format_progress_line(const CheckResult& result);
nlohmann::json to_json(const RunReport& report);

// node_exporter textfile format, written atomically (temp file, fsync, rename) as DIR/sigma_healthcheck.prom.
std::string format_prometheus(const RunReport& report);
void write_prometheus_textfile(const std::string& metrics_dir, const RunReport& report);

// A preflight_pass / preflight_fail event with the report as details.
void record_report(const LedgerWriter& ledger, const RunReport& report);

}  // namespace sigma::hc
