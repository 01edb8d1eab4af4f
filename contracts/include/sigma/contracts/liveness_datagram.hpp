// Liveness by datagram (supervision protocol version 2): instead of rewriting DIR/alive-<r> on the shared
// filesystem every second, a rank sends one UDP datagram a second to the supervisor. At 2,048 ranks the files cost
// the filesystem's metadata server thousands of creates and renames a second and the supervisor a directory scan
// of thousands of files every poll (cluster/README.md, "The control plane at 64 nodes"); datagrams cost neither.
//
// The supervisor binds a UDP port on the node it runs srun from and hands every rank SIGMA_LIVENESS_PORT and a
// random SIGMA_LIVENESS_TOKEN; srun hands every task SLURM_LAUNCH_NODE_IPADDR, that node's address. A datagram is
// one JSON object, {"v": 2, "rank": r, "time": epoch seconds, "attempt": ..., "node": ..., "token": ...}; one
// without the token is dropped, so only the job's own processes (which can read its environment, as they can
// write its heartbeat directory) can speak for a rank. A lost datagram is one missed beat: the supervisor calls a
// rank lost only after policy.liveness_timeout_s of silence. Without the three variables a rank writes the file.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sigma/contracts/heartbeat.hpp"

namespace sigma {

inline constexpr int kLivenessDatagramVersion = 2;
inline constexpr std::size_t kMaxLivenessDatagramBytes = 1024;

// Where this process sends its liveness: SLURM_LAUNCH_NODE_IPADDR, SIGMA_LIVENESS_PORT, SIGMA_LIVENESS_TOKEN;
// nullopt unless all three are set and the port is a number from 1 to 65535.
struct LivenessAddress {
  std::string host;
  int port = 0;
  std::string token;
};
std::optional<LivenessAddress> liveness_address_from_env();

std::string liveness_datagram(int rank, double time, const std::string& attempt, const std::string& node,
                              const std::string& token);

// The record a datagram carries, or nullopt for one that is not a well-formed version-2 datagram with `token`.
std::optional<Liveness> parse_liveness_datagram(std::string_view datagram, const std::string& token,
                                                const AttemptFilter& attempt);

// Sends datagrams to one address (best effort: a send that fails is a missed beat). Not copyable.
class LivenessSender {
 public:
  explicit LivenessSender(const LivenessAddress& to);
  ~LivenessSender();
  LivenessSender(const LivenessSender&) = delete;
  LivenessSender& operator=(const LivenessSender&) = delete;
  bool ready() const { return socket_ >= 0; }  // false: the address did not resolve; write the file instead
  void send(const std::string& datagram) const;

 private:
  int socket_ = -1;
};

}  // namespace sigma
