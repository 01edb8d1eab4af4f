// The supervisor's end of liveness by datagram (contracts/liveness_datagram.hpp): a UDP socket bound on every
// address of this node, an ephemeral port and a random token for the step's ranks, and each rank's newest record
// of the current attempt. Datagrams are read without blocking, once per poll; a malformed one, one without the
// token or one for another attempt is dropped.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sigma/contracts/heartbeat.hpp"

namespace sigma::launch {

class LivenessInbox {
 public:
  LivenessInbox();  // port() is 0 when no socket could be bound: the ranks then write alive-<r> files
  ~LivenessInbox();
  LivenessInbox(const LivenessInbox&) = delete;
  LivenessInbox& operator=(const LivenessInbox&) = delete;

  int port() const { return port_; }
  const std::string& token() const { return token_; }

  // Takes every datagram waiting; keeps the newest record of each rank of `attempt`.
  void receive(const std::string& attempt);
  std::vector<Liveness> records() const;
  void clear() { newest_.clear(); }  // a new attempt

 private:
  int socket_ = -1;
  int port_ = 0;
  std::string token_;
  std::map<int, Liveness> newest_;
};

// The records of both channels, the newest of each rank: files (writers that send no datagrams) and datagrams.
std::vector<Liveness> newest_liveness(const std::vector<Liveness>& files, const std::vector<Liveness>& datagrams);

}  // namespace sigma::launch
