// The site config: one YAML file owned by the site admin (root), read by sigma-config, sigma-healthcheck,
// sigma-launch and the SPANK plugin (sigma-train and sigma-ckpt do not read it).
// load_site_config() validates strictly: unknown keys, wrong types, out-of-range values, missing required fields
// and a second YAML document each raise sigma::Error(ExitCode::config) with ONE line "file:line:col: key:
// expected ...". Every field has an explicit default (printed by `sigma-config defaults`).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sigma/policy/taxonomy.hpp"

namespace sigma {

struct ClusterConfig {
  std::string name;         // required
  int spare_nodes = 0;      // nodes a job asks for beyond what it needs, used to replace bad ones
};

// One preflight level (quick, standard, extended): which checks run and the wall-time budget for all of them.
struct LevelChecks {
  double budget_s = 30;
  std::vector<std::string> checks;  // names from: gemm, membw, memtest, interconnect, cuda
};

struct GemmCheckConfig {
  std::vector<int> sizes = {256, 512};   // square matrix sizes n
  double min_ratio = 0.75;               // fail when GFLOP/s < min_ratio * baseline
};

struct MembwCheckConfig {
  int size_mib = 256;                    // per array
  double min_ratio = 0.75;
};

struct MemtestCheckConfig {
  double share = 0.02;                   // fraction of free memory to test
  int max_mib = 1024;                    // cap regardless of share
};

struct InterconnectCheckConfig {
  int size_kib = 1024;                   // message size for allreduce/alltoall
  double min_ratio = 0.5;
};

// Fault injection makes a healthy node look bad, for tests. Only the admin-owned site config can turn it on.
struct FaultInjectionConfig {
  bool enabled = false;
  double gemm_bitflip_rate = 0;          // probability per output element
  double slowdown = 1.0;                 // multiply a check's runtime
  std::string hang_check;                // name of a check that hangs
  std::string crash_check;               // name of a check that crashes
  std::string nodes;                     // Slurm hostlist ("n[1-3,7]") of the nodes it applies to; "" = all
};

// Node recycling (`sigma-healthcheck nhc`): a node that sigma drained is burned in again at `level` once it has
// been drained for `hold_off_s`, and resumed when it passes. Nodes drained by anyone else are never touched.
// A node sigma drained `flap_drains` times within `flap_window_s` is flapping: it stays drained for a human
// ("sigma: flapping N drains in W s"), and while it has a drain within the window one cached pass does not
// vouch for it.
struct RecycleConfig {
  bool enabled = true;
  double hold_off_s = 600;
  std::string level = "extended";
  int flap_drains = 3;                   // 0: never quarantine
  double flap_window_s = 3600;
};

struct PreflightConfig {
  std::string default_level = "quick";
  std::map<std::string, LevelChecks> levels;  // quick, standard, extended always present
  GemmCheckConfig gemm;
  MembwCheckConfig membw;
  MemtestCheckConfig memtest;
  InterconnectCheckConfig interconnect;
  std::string baseline_file;             // per node type medians from `sigma-healthcheck calibrate`
  double result_ttl_s = 3600;            // a passed result is reused for this long
  FaultInjectionConfig fault_injection;
  RecycleConfig recycle;
};

struct BackoffConfig {
  double initial_s = 5;
  double max_s = 300;
  double factor = 2;
};

struct PolicyConfig {
  int max_restarts = 3;                  // in-allocation restarts of a step
  int max_requeues = 5;                  // requeues of a batch job
  BackoffConfig backoff;
  double heartbeat_timeout_s = 300;      // no heartbeat for this long = hang
  double liveness_timeout_s = 3;         // a rank's liveness beat (every second) silent this long while another
                                         // rank beats on = that rank's process or node is lost (>= 2 beats)
  double startup_timeout_s = 600;        // ... but until every rank's first heartbeat of an attempt, this long
                                         // from the launch (srun, MPI_Init, data and checkpoint load, a step)
  bool exclude_stragglers = false;       // move a step off a node its trainer flags as a straggler's
};

struct PathsConfig {
  std::string state_dir = "/var/lib/sigma";
  std::string ledger = "/var/lib/sigma/events.jsonl";
  std::string healthcheck_bin = "/usr/local/bin/sigma-healthcheck";
  std::string metrics_dir;               // Prometheus textfile collector dir; empty = off
};

struct SiteConfig {
  std::string source;                    // file it was loaded from
  ClusterConfig cluster;
  PreflightConfig preflight;
  PolicyConfig policy;
  PathsConfig paths;
  std::vector<TaxonomyRule> taxonomy;    // site rules first, then the shipped defaults
  // One line per retired key the file still has ("file:line:col: key: ignored: why"): accepted, so that an old
  // config keeps working, and named by `sigma-config check`.
  std::vector<std::string> warnings;
};

// Bounds on what every prolog parses: the file's size, its YAML nodes as read (an alias counted at every use, so
// anchors and aliases cannot make a small file stand for a huge one) and the site's own taxonomy rules (each is a
// regular expression compiled by every reader). A config over one is refused with one line naming the limit.
inline constexpr std::size_t kMaxSiteConfigBytes = 1024 * 1024;
inline constexpr std::size_t kMaxSiteConfigNodes = 100'000;
inline constexpr std::size_t kMaxTaxonomyRules = 1000;

// The site config a program reads when none is named: the build's SIGMA_DEFAULT_SITE_CONFIG (CMake cache
// variable; /etc/sigma/site.yaml, where the package installs it).
const char* default_site_config_path();

// Loads and validates; throws sigma::Error(ExitCode::config) or (ExitCode::not_found) with one line.
SiteConfig load_site_config(const std::string& path);
// The same for a program running as root: the file is opened once, without following a link, below directories
// that only root can change (every one from / down is checked on its descriptor, trusted_path.hpp), and the open
// file must be owned by root and not group/world-writable (else a user could weaken thresholds or turn on fault
// injection). Not root: as above.
SiteConfig load_site_config_as_admin(const std::string& path);

// Same, from text (for tests and the fuzzer); `name` is used in messages in place of a file name.
SiteConfig parse_site_config(const std::string& yaml_text, const std::string& name);
// The effective config, defaults filled in, as YAML.
std::string to_yaml(const SiteConfig& config);
// The config a site gets with only `cluster.name` set.
SiteConfig default_site_config();

}  // namespace sigma
