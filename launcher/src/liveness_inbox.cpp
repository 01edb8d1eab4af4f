#include "sigma/launcher/liveness_inbox.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <random>

#include "sigma/contracts/liveness_datagram.hpp"

namespace sigma::launch {
namespace {

// 128 random bits: a rank proves it belongs to the step by quoting them.
std::string random_token() {
  std::random_device device;
  std::string token;
  for (int i = 0; i < 4; ++i) token += fmt::format("{:08x}", device());
  return token;
}

// A UDP socket on every IPv4 address of this node, an ephemeral port, non-blocking; -1 when it cannot be had.
int bound_socket(int& port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  // Room for a few polls' worth of 2,048 ranks' datagrams should the receiving thread be held up (the kernel caps
  // it at net.core.rmem_max).
  const int buffer_bytes = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    return -1;
  }
  port = ntohs(address.sin_port);
  return fd;
}

}  // namespace

LivenessInbox::LivenessInbox() : token_(random_token()) {
  socket_ = bound_socket(port_);
  if (socket_ < 0) {
    port_ = 0;
    fmt::print(stderr, "sigma-launch: warning: no UDP socket for liveness datagrams: ranks write alive-<r> files\n");
    return;
  }
  receiver_ = std::thread([this] { receive_until_stopped(); });
}

LivenessInbox::~LivenessInbox() {
  if (receiver_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    receiver_.join();
  }
  if (socket_ >= 0) ::close(socket_);
}

void LivenessInbox::expect(const std::string& attempt) {
  std::lock_guard lock(mutex_);
  attempt_ = attempt;
  newest_.clear();
}

std::vector<Liveness> LivenessInbox::records() const {
  std::lock_guard lock(mutex_);
  std::vector<Liveness> out;
  for (const auto& [rank, record] : newest_) out.push_back(record);
  return out;
}

// Waits for datagrams at most kWakeMs at a time (so that the destructor is answered), then takes all that came.
void LivenessInbox::receive_until_stopped() {
  constexpr int kWakeMs = 100;
  std::array<char, kMaxLivenessDatagramBytes + 1> buffer{};
  while (true) {
    pollfd waiting{socket_, POLLIN, 0};
    ::poll(&waiting, 1, kWakeMs);
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    while (true) {
      const ssize_t got = ::recv(socket_, buffer.data(), buffer.size(), 0);
      if (got < 0) break;  // EAGAIN: none left (or an error: the next wake tries again)
      const auto record =
          parse_liveness_datagram(std::string_view(buffer.data(), static_cast<std::size_t>(got)), token_, attempt_);
      if (!record) continue;
      auto& newest = newest_[record->rank];
      if (record->time >= newest.time) newest = *record;
    }
  }
}

std::vector<Liveness> newest_liveness(const std::vector<Liveness>& files, const std::vector<Liveness>& datagrams) {
  std::map<int, Liveness> newest;
  for (const auto* records : {&files, &datagrams}) {
    for (const auto& record : *records) {
      auto [at, added] = newest.emplace(record.rank, record);
      if (!added && record.time > at->second.time) at->second = record;
    }
  }
  std::vector<Liveness> out;
  for (const auto& [rank, record] : newest) out.push_back(record);
  return out;
}

}  // namespace sigma::launch
