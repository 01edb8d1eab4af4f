// This node's name, as every sigma process reports it (ledger events, heartbeats, blame, memory copies, the
// prolog's burn-in): $SIGMA_NODE_NAME when set (an admin's or a test's override), else $SLURMD_NODENAME (the
// Slurm node: on a host that runs several slurmd, the logical node an admin drains), else the short host name.
// The SPANK plugin is the exception: inside slurmd it takes the node from slurmd's environment alone, and a prolog
// without one is malformed.
#pragma once

#include <string>

namespace sigma {

std::string this_node_name();

}  // namespace sigma
