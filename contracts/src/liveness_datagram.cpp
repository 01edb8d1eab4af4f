#include "sigma/contracts/liveness_datagram.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdlib>

#include "sigma/contracts/env_names.hpp"

namespace sigma {
namespace {

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

std::optional<LivenessAddress> liveness_address_from_env() {
  LivenessAddress to{env_or_empty(env::kSlurmLaunchNodeAddress), 0, env_or_empty(env::kLivenessToken)};
  const std::string port = env_or_empty(env::kLivenessPort);
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), to.port);
  if (to.host.empty() || to.token.empty() || port.empty() || error != std::errc() || end != port.data() + port.size() ||
      to.port < 1 || to.port > 65535) {
    return std::nullopt;
  }
  return to;
}

std::string liveness_datagram(int rank, double time, const std::string& attempt, const std::string& node,
                              const std::string& token) {
  return nlohmann::json{{"v", kLivenessDatagramVersion}, {"rank", rank}, {"time", time}, {"attempt", attempt},
                        {"node", node}, {"token", token}}
      .dump();
}

std::optional<Liveness> parse_liveness_datagram(std::string_view datagram, const std::string& token,
                                                const AttemptFilter& attempt) {
  if (datagram.size() > kMaxLivenessDatagramBytes) return std::nullopt;
  const auto record = nlohmann::json::parse(datagram, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object()) return std::nullopt;
  const auto field = [&](const char* key, auto check) { return record.contains(key) && (record[key].*check)(); };
  if (!field("v", &nlohmann::json::is_number_integer) || record["v"] != kLivenessDatagramVersion ||
      !field("token", &nlohmann::json::is_string) || record["token"] != token ||
      !field("rank", &nlohmann::json::is_number_integer) || !field("time", &nlohmann::json::is_number) ||
      !field("attempt", &nlohmann::json::is_string) || !field("node", &nlohmann::json::is_string)) {
    return std::nullopt;
  }
  const long rank = record["rank"].get<long>();
  if (rank < 0 || rank > 1 << 24) return std::nullopt;
  if (attempt && record["attempt"].get<std::string>() != *attempt) return std::nullopt;
  return Liveness{static_cast<int>(rank), record["time"].get<double>(), record["node"].get<std::string>()};
}

LivenessSender::LivenessSender(const LivenessAddress& to) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(to.host.c_str(), std::to_string(to.port).c_str(), &hints, &found) != 0) return;
  socket_ = ::socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  // connect(): send() needs no address, and errors from the far side (nobody listening) come back.
  if (socket_ >= 0 && ::connect(socket_, found->ai_addr, found->ai_addrlen) != 0) {
    ::close(socket_);
    socket_ = -1;
  }
  freeaddrinfo(found);
}

LivenessSender::~LivenessSender() {
  if (socket_ >= 0) ::close(socket_);
}

void LivenessSender::send(const std::string& datagram) const {
  if (socket_ >= 0) (void)::send(socket_, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

}  // namespace sigma
