// A scratch site for the plugin's logic: a private directory with a root-owned site config, a state directory
// and a ledger, and the real sigma-healthcheck as paths.healthcheck_bin (or a program that hangs).
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace sigma::spank::test {

class ScratchSite {
 public:
  ScratchSite() {
    char pattern[] = "/tmp/sigma-spank-test.XXXXXX";
    dir_ = mkdtemp(pattern);
    chmod(dir_.c_str(), 0755);
  }
  ~ScratchSite() { std::filesystem::remove_all(dir_); }

  // Writes the site config; `extra_preflight` lines go under preflight:, `policy` under policy:.
  std::string write_config(const std::string& extra_preflight = "", const std::string& policy = "",
                           const std::string& healthcheck = SIGMA_HEALTHCHECK_BIN, int quick_budget_s = 20) const {
    const std::string path = dir_ + "/site.yaml";
    std::ofstream(path) << "cluster: {name: spank-test}\n"
                        << "preflight:\n"
                        << "  default_level: quick\n"
                        << "  levels:\n"
                        << "    quick: {budget_s: " << quick_budget_s << ", checks: [gemm]}\n"
                        << "    standard: {budget_s: 20, checks: [gemm, membw, interconnect]}\n"
                        << "    extended: {budget_s: 20, checks: [gemm, membw]}\n"
                        << "  gemm: {sizes: [64]}\n"
                        << "  membw: {size_mib: 8}\n"
                        << "  result_ttl_s: 600\n"
                        << extra_preflight << "policy:\n  max_requeues: 3\n"
                        << policy << "paths:\n"
                        << "  state_dir: " << state_dir() << "\n"
                        << "  ledger: " << ledger() << "\n"
                        << "  healthcheck_bin: " << healthcheck << "\n";
    chmod(path.c_str(), 0644);
    return path;
  }

  // A "healthcheck" that never answers, for the prolog's own deadline.
  std::string write_hanging_program() const {
    const std::string path = dir_ + "/hangs.sh";
    std::ofstream(path) << "#!/bin/sh\nexec sleep 60\n";
    chmod(path.c_str(), 0755);
    return path;
  }

  std::string state_dir() const { return dir_ + "/state"; }
  std::string ledger() const { return dir_ + "/events.jsonl"; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

inline bool running_as_root() { return geteuid() == 0; }

}  // namespace sigma::spank::test
