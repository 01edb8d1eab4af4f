#include "sigma/platform/slurm_node.hpp"

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <csignal>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "sigma/core/error.hpp"

namespace sigma {

std::optional<unsigned> this_job_id() {
  const char* job = std::getenv("SLURM_JOB_ID");
  if (job == nullptr) return std::nullopt;
  return static_cast<unsigned>(std::strtoul(job, nullptr, 10));
}

namespace {

constexpr int kSlurmCallTimeoutSeconds = 60;  // slurmctld may be slow to answer; a prolog must not wait forever
constexpr int kJobQueryTimeoutSeconds = 5;    // asked inside a burn-in's budget; not knowing counts as shared

// What a child reports: ok plus a text (the answer, or Slurm's error).
struct ChildAnswer {
  bool ok = false;
  std::string text;
};

std::string slurm_error_text() { return slurm_strerror(slurm_get_errno()); }

[[noreturn]] void answer_and_exit(int out_fd, const ChildAnswer& answer) {
  if (write(out_fd, answer.text.data(), answer.text.size()) < 0) _exit(1);
  _exit(answer.ok ? 0 : 1);
}

std::string read_all(int fd) {
  std::string text;
  char buffer[512];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
  return text;
}

// Runs `call` (which uses libslurm) in a child and returns its answer text; throws on failure.
std::string in_child(const std::string& what, const std::function<ChildAnswer()>& call,
                     int timeout_s = kSlurmCallTimeoutSeconds) {
  int fds[2];
  if (pipe(fds) != 0) throw Error(ExitCode::internal, what + ": pipe failed");
  const pid_t pid = fork();
  if (pid < 0) throw Error(ExitCode::internal, what + ": fork failed");
  if (pid == 0) {
    close(fds[0]);
    alarm(static_cast<unsigned>(timeout_s));  // SIGALRM ends a child stuck on an unresponsive controller
    // libslurm's fatal() calls exit(); the exit handlers of libraries set up in the parent (OpenBLAS joins worker
    // threads that a forked child does not have) would then hang, so the first handler to run leaves at once.
    std::atexit([] { _exit(1); });
    slurm_init(nullptr);
    answer_and_exit(fds[1], call());
  }
  close(fds[1]);
  const std::string message = read_all(fds[0]);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return message;
  const std::string why = !message.empty()      ? message
                          : WIFSIGNALED(status) ? fmt::format("timed out or killed (signal {})", WTERMSIG(status))
                                                : "libslurm could not load its configuration";
  throw Error(ExitCode::transient, fmt::format("{}: {}", what, why));
}

ChildAnswer update_node(const std::string& node, uint32_t state, const std::string& reason) {
  update_node_msg_t msg;
  slurm_init_update_node_msg(&msg);
  std::vector<char> names(node.begin(), node.end()), why(reason.begin(), reason.end());
  names.push_back('\0');
  why.push_back('\0');
  msg.node_names = names.data();
  msg.node_state = state;
  if (!reason.empty()) {
    msg.reason = why.data();
    msg.reason_uid = getuid();
  }
  if (slurm_update_node(&msg) == SLURM_SUCCESS) return {true, ""};
  return {false, slurm_error_text()};
}

ChildAnswer load_node(const std::string& node) {
  node_info_msg_t* info = nullptr;
  std::vector<char> name(node.begin(), node.end());
  name.push_back('\0');
  if (slurm_load_node_single(&info, name.data(), SHOW_ALL) != SLURM_SUCCESS) return {false, slurm_error_text()};
  if (info == nullptr || info->record_count < 1) {
    slurm_free_node_info_msg(info);
    return {false, "no such node"};
  }
  const node_info_t& n = info->node_array[0];
  const uint32_t base = n.node_state & NODE_STATE_BASE;
  const nlohmann::json out = {{"drain", (n.node_state & NODE_STATE_DRAIN) != 0},
                              {"busy", base == NODE_STATE_ALLOCATED || base == NODE_STATE_MIXED},
                              {"down", base == NODE_STATE_DOWN || (n.node_state & NODE_STATE_NO_RESPOND) != 0},
                              {"reason", n.reason ? n.reason : ""},
                              {"reason_time", static_cast<double>(n.reason_time)}};
  slurm_free_node_info_msg(info);
  return {true, out.dump()};
}

// The CPUs the job holds on the node and the node's CPUs: equal when no other job can run there.
ChildAnswer load_job_share(std::uint32_t job_id, const std::string& node) {
  job_info_msg_t* jobs = nullptr;
  if (slurm_load_job(&jobs, job_id, SHOW_DETAIL) != SLURM_SUCCESS) return {false, slurm_error_text()};
  if (jobs == nullptr || jobs->record_count < 1) {
    slurm_free_job_info_msg(jobs);
    return {false, "no such job"};
  }
  const int job_cpus = slurm_job_cpus_allocated_on_node(jobs->job_array[0].job_resrcs, node.c_str());
  slurm_free_job_info_msg(jobs);
  node_info_msg_t* info = nullptr;
  std::vector<char> name(node.begin(), node.end());
  name.push_back('\0');
  if (slurm_load_node_single(&info, name.data(), SHOW_ALL) != SLURM_SUCCESS) return {false, slurm_error_text()};
  if (info == nullptr || info->record_count < 1) {
    slurm_free_node_info_msg(info);
    return {false, "no such node"};
  }
  const int node_cpus = info->node_array[0].cpus;
  slurm_free_node_info_msg(info);
  return {true, nlohmann::json{{"job_cpus", job_cpus}, {"node_cpus", node_cpus}}.dump()};
}

ChildAnswer load_job_nodes(unsigned job_id) {
  job_info_msg_t* jobs = nullptr;
  if (slurm_load_job(&jobs, job_id, SHOW_ALL) != SLURM_SUCCESS) return {false, slurm_error_text()};
  if (jobs == nullptr || jobs->record_count < 1) {
    slurm_free_job_info_msg(jobs);
    return {false, "no such job"};
  }
  const char* nodes = jobs->job_array[0].nodes;
  ChildAnswer answer{true, nodes != nullptr ? nodes : ""};
  slurm_free_job_info_msg(jobs);
  return answer;
}

ChildAnswer load_steps(unsigned job_id) {
  job_step_info_response_msg_t* steps = nullptr;
  if (slurm_get_job_steps(0, job_id, NO_VAL, &steps, SHOW_ALL) != SLURM_SUCCESS) return {false, slurm_error_text()};
  nlohmann::json out = nlohmann::json::array();
  for (uint32_t i = 0; steps != nullptr && i < steps->job_step_count; ++i) {
    const job_step_info_t& step = steps->job_steps[i];
    if (step.step_id.step_id >= SLURM_MAX_NORMAL_STEP_ID) continue;  // batch, extern, interactive
    out.push_back(fmt::format("{}.{} on {}", step.step_id.job_id, step.step_id.step_id, step.nodes ? step.nodes : "?"));
  }
  slurm_free_job_step_info_response_msg(steps);
  return {true, out.dump()};
}

}  // namespace

bool job_has_whole_node(const std::string& job_id, const std::string& node) {
  std::uint32_t id = 0;
  const auto [end, error] = std::from_chars(job_id.data(), job_id.data() + job_id.size(), id);
  if (job_id.empty() || error != std::errc() || end != job_id.data() + job_id.size() || id == 0) {
    throw Error(ExitCode::usage, fmt::format("job id \"{}\": expected a Slurm job id", job_id));
  }
  const auto text = in_child(fmt::format("job {} on {}: slurm_load_job failed", job_id, node),
                             [&] { return load_job_share(id, node); }, kJobQueryTimeoutSeconds);
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error(ExitCode::internal, fmt::format("job {}: unreadable answer", job_id));
  const int job_cpus = j.value("job_cpus", -1), node_cpus = j.value("node_cpus", 0);
  return job_cpus > 0 && job_cpus >= node_cpus;
}

std::vector<std::string> job_steps(unsigned job_id) {
  const auto text = in_child(fmt::format("steps of job {}: slurm_get_job_steps failed", job_id),
                             [&] { return load_steps(job_id); });
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) throw Error(ExitCode::internal, fmt::format("steps of job {}: unreadable answer", job_id));
  return j.get<std::vector<std::string>>();
}

std::vector<std::string> job_nodes(unsigned job_id) {
  const auto list = in_child(fmt::format("nodes of job {}: slurm_load_job failed", job_id),
                             [&] { return load_job_nodes(job_id); }, kJobQueryTimeoutSeconds);
  return list.empty() ? std::vector<std::string>{} : expand_hostlist(list);
}

void signal_job_step(unsigned job_id, unsigned step_id, int sig, int timeout_s) {
  in_child(fmt::format("signal {} to step {}.{}: slurm_signal_job_step failed", sig, job_id, step_id),
           [&]() -> ChildAnswer {
             // Sent to every node of the job's allocation: one without the step (a spare) answers "invalid job
             // id" while the step's nodes deliver the signal, so that answer is not a failure here.
             if (slurm_signal_job_step(job_id, step_id, static_cast<uint32_t>(sig)) == SLURM_SUCCESS ||
                 slurm_get_errno() == ESLURM_INVALID_JOB_ID) {
               return {true, ""};
             }
             return {false, slurm_error_text()};
           },
           timeout_s);
}

NodeStatus query_node(const std::string& node) {
  const auto text = in_child(fmt::format("query {}: slurm_load_node_single failed", node), [&] { return load_node(node); });
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error(ExitCode::internal, fmt::format("query {}: unreadable answer", node));
  return {j.value("drain", false), j.value("busy", false), j.value("reason", ""), j.value("reason_time", 0.0),
          j.value("down", false)};
}

void drain_node(const std::string& node, const std::string& reason) {
  in_child(fmt::format("drain {}: slurm_update_node failed", node),
           [&] { return update_node(node, NODE_STATE_DRAIN, reason); });
}

void resume_node(const std::string& node) {
  in_child(fmt::format("resume {}: slurm_update_node failed", node), [&] { return update_node(node, NODE_RESUME, ""); });
}

std::vector<std::string> expand_hostlist(const std::string& hostlist) {
  hostlist_t list = slurm_hostlist_create(hostlist.c_str());
  if (list == nullptr) throw Error(ExitCode::usage, fmt::format("\"{}\": not a Slurm hostlist", hostlist));
  std::vector<std::string> names;
  while (char* name = slurm_hostlist_shift(list)) {
    names.emplace_back(name);
    free(name);
  }
  slurm_hostlist_destroy(list);
  return names;
}

bool hostlist_contains(const std::string& hostlist, const std::string& node) {
  hostlist_t list = slurm_hostlist_create(hostlist.c_str());
  if (list == nullptr) return false;
  const bool found = slurm_hostlist_find(list, node.c_str()) >= 0;
  slurm_hostlist_destroy(list);
  return found;
}

}  // namespace sigma
