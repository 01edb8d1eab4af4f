// Baseline file: medians per node type, written by calibrate, read by every run.
#include "sigma/healthcheck/baseline.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "sigma/core/durable_file.hpp"
#include "sigma/core/error.hpp"

namespace sigma::hc {
namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 1);
  }
  return "unknown-cpu";
}

std::string slug(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (std::isalnum(static_cast<unsigned char>(ch))) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nlohmann::json::object();
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ExitCode::config, fmt::format("{}: baseline file is not valid JSON: {}", path, e.what()));
  }
}

}  // namespace

std::string node_type() {
  const double mem_gib = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE)) /
                         (1024.0 * 1024 * 1024);
  return fmt::format("{}/{}c/{:.0f}g", slug(cpu_model()), std::thread::hardware_concurrency(), mem_gib);
}

std::optional<BaselineMetrics> load_baseline(const std::string& path, const std::string& type) {
  if (path.empty()) return std::nullopt;
  const nlohmann::json root = read_json_file(path);
  try {
    if (!root.contains("node_types") || !root["node_types"].contains(type)) return std::nullopt;
    return root["node_types"][type].at("metrics").get<BaselineMetrics>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(ExitCode::config, fmt::format("{}: node_types.{}.metrics: expected numbers: {}", path, type,
                                              e.what()));
  }
}

void save_baseline(const std::string& path, const std::string& type, const BaselineMetrics& metrics, int runs) {
  nlohmann::json root = read_json_file(path);
  root["node_types"][type] = {{"metrics", metrics}, {"runs", runs}};
  write_file_durably(path, root.dump(2) + "\n");
}

}  // namespace sigma::hc
