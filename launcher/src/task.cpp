#include "sigma/launcher/task.hpp"

#include <pmix.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "sigma/contracts/env_names.hpp"
#include "sigma/contracts/node_name.hpp"
#include "sigma/contracts/verdicts.hpp"
#include "sigma/healthcheck/preflight_process.hpp"
#include "sigma/core/error.hpp"

namespace sigma::launch {
namespace {

constexpr const char* kVerdictKey = "sigma.node_verdict";

[[noreturn]] void pmix_failure(const char* call, pmix_status_t status) {
  throw Error(ExitCode::transient, fmt::format("task: {} failed: {}", call, PMIx_Error_string(status)));
}

// The task's place in the job, from PMIx.
struct Place {
  pmix_proc_t proc{};
  std::uint32_t size = 0;
  std::uint16_t local_rank = 0;
  std::string node_id = "?";    // PMIX_NODEID, when the server provides it
  std::string node_list = "?";  // PMIX_NODE_LIST (the step's nodes), when the server provides it
};

pmix_value_t* get(const pmix_proc_t& who, const char* key) {
  pmix_value_t* value = nullptr;
  if (const pmix_status_t s = PMIx_Get(&who, key, nullptr, 0, &value); s != PMIX_SUCCESS) pmix_failure(key, s);
  return value;
}

// A value the PMIx server may not provide: "?" when absent.
std::string optional_value(const pmix_proc_t& who, const char* key) {
  pmix_value_t* value = nullptr;
  if (PMIx_Get(&who, key, nullptr, 0, &value) != PMIX_SUCCESS || value == nullptr) return "?";
  std::string text = "?";
  if (value->type == PMIX_STRING && value->data.string) text = value->data.string;
  if (value->type == PMIX_UINT32) text = std::to_string(value->data.uint32);
  PMIX_VALUE_RELEASE(value);
  return text;
}

Place learn_place() {
  Place place;
  if (const pmix_status_t s = PMIx_Init(&place.proc, nullptr, 0); s != PMIX_SUCCESS) pmix_failure("PMIx_Init", s);
  pmix_proc_t job;
  PMIX_LOAD_PROCID(&job, place.proc.nspace, PMIX_RANK_WILDCARD);
  pmix_value_t* v = get(job, PMIX_JOB_SIZE);
  place.size = v->data.uint32;
  PMIX_VALUE_RELEASE(v);
  v = get(place.proc, PMIX_LOCAL_RANK);
  place.local_rank = v->data.uint16;
  PMIX_VALUE_RELEASE(v);
  place.node_id = optional_value(place.proc, PMIX_NODEID);
  place.node_list = optional_value(job, PMIX_NODE_LIST);
  return place;
}

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// This node's verdict as published to the other tasks; only local rank 0 of a node burns it in.
std::string node_verdict(const TaskOptions& options, const SiteConfig& config, PreflightLevel level,
                         const std::string& node) {
  if (level == PreflightLevel::off) return task_verdict_text(node, TaskVerdict::off);
  if (validated_by_plugin(level, std::getenv(env::kPreflightLevel), std::getenv(env::kPreflightVerdict))) {
    return task_verdict_text(node, TaskVerdict::skip);
  }
  const ChildResult run = run_preflight(config, options.config_path, level_name(level),
                                       {node, env(env::kSlurmJobId), env("SLURM_CONF")});
  if (run.exit_code == 0) return task_verdict_text(node, TaskVerdict::pass);
  const std::string reason = run.timed_out ? "preflight over budget" : fmt::format("preflight exit {}", run.exit_code);
  return task_verdict_text(node, TaskVerdict::fail, reason);
}

void publish(const std::string& text) {
  pmix_value_t value;
  PMIX_VALUE_LOAD(&value, text.c_str(), PMIX_STRING);
  if (const pmix_status_t s = PMIx_Put(PMIX_GLOBAL, kVerdictKey, &value); s != PMIX_SUCCESS) pmix_failure("PMIx_Put", s);
  PMIX_VALUE_DESTRUCT(&value);
  if (const pmix_status_t s = PMIx_Commit(); s != PMIX_SUCCESS) pmix_failure("PMIx_Commit", s);
}

// Every task's published verdict, after a fence that collects them; returns the failed nodes' lines.
std::vector<std::string> failed_nodes(const Place& place) {
  pmix_info_t collect;
  bool yes = true;
  PMIX_INFO_LOAD(&collect, PMIX_COLLECT_DATA, &yes, PMIX_BOOL);
  pmix_proc_t all;
  PMIX_LOAD_PROCID(&all, place.proc.nspace, PMIX_RANK_WILDCARD);
  const pmix_status_t fenced = PMIx_Fence(&all, 1, &collect, 1);
  PMIX_INFO_DESTRUCT(&collect);
  if (fenced != PMIX_SUCCESS) pmix_failure("PMIx_Fence", fenced);
  std::vector<std::string> failed;
  for (std::uint32_t rank = 0; rank < place.size; ++rank) {
    pmix_proc_t peer;
    PMIX_LOAD_PROCID(&peer, place.proc.nspace, rank);
    pmix_value_t* v = get(peer, kVerdictKey);
    const std::string text = v->data.string ? v->data.string : "";
    PMIX_VALUE_RELEASE(v);
    if (task_verdict_failed(text)) failed.push_back(text);
  }
  return failed;
}

[[noreturn]] void exec_command(const std::vector<std::string>& command) {
  std::vector<char*> argv;
  for (const auto& word : command) argv.push_back(const_cast<char*>(word.c_str()));
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  throw Error(ExitCode::not_found, fmt::format("task: cannot run {}: {}", command[0], std::strerror(errno)));
}

}  // namespace

bool validated_by_plugin(PreflightLevel level, const char* plugin_level, const char* plugin_verdict) {
  if (plugin_level == nullptr || plugin_verdict == nullptr) return false;
  const auto verdict = parse_prolog_verdict(plugin_verdict);
  if (verdict != PrologVerdict::pass && verdict != PrologVerdict::cached) return false;
  const auto have = parse_level(plugin_level);
  return have && *have != PreflightLevel::off && *have >= level;
}

ExitCode run_task(const TaskOptions& options, const SiteConfig& config) {
  if (options.command.empty()) throw Error(ExitCode::usage, "task: expected -- COMMAND [ARGS...]");
  const std::string asked = options.preflight.empty() ? config.preflight.default_level : options.preflight;
  const auto level = parse_level(asked);
  if (!level) {
    throw Error(ExitCode::usage, fmt::format("--preflight: expected {}, got \"{}\"", level_choices(), asked));
  }
  const Place place = learn_place();
  const std::string node = this_node_name();
  // Every task reaches the fence, whatever happens to its node's check: a task that skipped it would leave the
  // others waiting there.
  publish(place.local_rank == 0 ? node_verdict(options, config, *level, node) : node + "|-");
  const auto failed = failed_nodes(place);
  if (place.proc.rank == 0) {
    fmt::print(stderr, "sigma-launch task: {} tasks on nodes {} (rank 0: node id {}); preflight {}: {}\n",
               place.size, place.node_list, place.node_id, asked,
               failed.empty() ? "every node passed" : fmt::format("failed {}", fmt::join(failed, " ")));
  }
  PMIx_Finalize(nullptr, 0);
  if (!failed.empty()) return ExitCode::node_hardware;
  exec_command(options.command);
}

}  // namespace sigma::launch
