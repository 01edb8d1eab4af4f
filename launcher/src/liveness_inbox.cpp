#include "sigma/launcher/liveness_inbox.hpp"

#include <netinet/in.h>
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
  }
}

LivenessInbox::~LivenessInbox() {
  if (socket_ >= 0) ::close(socket_);
}

void LivenessInbox::receive(const std::string& attempt) {
  if (socket_ < 0) return;
  std::array<char, kMaxLivenessDatagramBytes + 1> buffer{};
  while (true) {
    const ssize_t got = ::recv(socket_, buffer.data(), buffer.size(), 0);
    if (got < 0) return;  // EAGAIN: none left (or an error: the next poll tries again)
    const auto record =
        parse_liveness_datagram(std::string_view(buffer.data(), static_cast<std::size_t>(got)), token_, attempt);
    if (!record) continue;
    auto& newest = newest_[record->rank];
    if (record->time >= newest.time) newest = *record;
  }
}

std::vector<Liveness> LivenessInbox::records() const {
  std::vector<Liveness> out;
  for (const auto& [rank, record] : newest_) out.push_back(record);
  return out;
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
