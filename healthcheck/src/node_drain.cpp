// Drain through libslurm, the way LBNL NHC does with scontrol, but without running a shell command as root.
#include "sigma/healthcheck/node_drain.hpp"

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "sigma/core/error.hpp"

namespace sigma::hc {

std::string slurm_node_name() {
  if (const char* name = std::getenv("SLURMD_NODENAME"); name != nullptr && *name != '\0') return name;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string out(host);
  return out.substr(0, out.find('.'));
}

void drain_node(const std::string& node, const std::string& reason) {
  slurm_init(nullptr);
  update_node_msg_t msg;
  slurm_init_update_node_msg(&msg);
  std::vector<char> names(node.begin(), node.end()), why(reason.begin(), reason.end());
  names.push_back('\0');
  why.push_back('\0');
  msg.node_names = names.data();
  msg.node_state = NODE_STATE_DRAIN;
  msg.reason = why.data();
  msg.reason_uid = getuid();
  const int rc = slurm_update_node(&msg);
  const int err = slurm_get_errno();
  slurm_fini();
  if (rc != SLURM_SUCCESS) {
    throw Error(ExitCode::transient, fmt::format("drain {}: slurm_update_node failed: {}", node, slurm_strerror(err)));
  }
}

}  // namespace sigma::hc
