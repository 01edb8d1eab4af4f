// The supervisor's end of liveness by datagram (contracts/liveness_datagram.hpp): a UDP socket bound on every
// address of this node, an ephemeral port and a random token for the step's ranks, and each rank's newest record
// of the current attempt. A thread of its own takes the datagrams as they come: 2,048 ranks send 2,048 a second,
// more than the socket's buffer (net.core.rmem_max, 208 KiB by default) holds between two polls of the
// supervisor, which may also be busy reading the heartbeat directory. A malformed datagram, one without the token
// or one for another attempt is dropped.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <thread>
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

  // A new attempt: forgets every record, and keeps only those written for `attempt` from now on.
  void expect(const std::string& attempt);
  // Each rank's newest record of the attempt, in rank order.
  std::vector<Liveness> records() const;

 private:
  void receive_until_stopped();

  int socket_ = -1;
  int port_ = 0;
  std::string token_;
  mutable std::mutex mutex_;
  std::string attempt_;
  std::map<int, Liveness> newest_;
  bool stopping_ = false;
  std::thread receiver_;
};

// The records of both channels, the newest of each rank: files (writers that send no datagrams) and datagrams.
std::vector<Liveness> newest_liveness(const std::vector<Liveness>& files, const std::vector<Liveness>& datagrams);

}  // namespace sigma::launch
