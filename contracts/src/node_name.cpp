#include "sigma/contracts/node_name.hpp"

#include <unistd.h>

#include <cstdlib>

#include "sigma/contracts/env_names.hpp"

namespace sigma {

std::string this_node_name() {
  for (const char* name : {env::kNodeName, env::kSlurmNodeName})
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return value;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const std::string name(host);
  return name.substr(0, name.find('.'));  // Slurm names a node by its short host name
}

}  // namespace sigma
