// Per node type baselines: medians of each metric written by `sigma-healthcheck calibrate`, so thresholds are
// relative to what this kind of node really does, not to a guessed constant.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace sigma::hc {

using BaselineMetrics = std::map<std::string, double>;  // "gemm.sgemm_n512_gflops" -> median

// A key naming the hardware: CPU model, core count and memory size, e.g. "intel-xeon-platinum-8480c/2c/24g".
std::string node_type();

// The baseline file: {"node_types": {"<type>": {"metrics": {...}, "runs": N, "written": "..."}}}.
// Missing file = no baselines (checks then report throughput without a floor); a malformed one throws
// sigma::Error(config) naming the file.
std::optional<BaselineMetrics> load_baseline(const std::string& path, const std::string& type);

// Merges `metrics` for `type` into the file (other node types kept); atomic write.
void save_baseline(const std::string& path, const std::string& type, const BaselineMetrics& metrics, int runs);

}  // namespace sigma::hc
