// Liveness by datagram: what a rank sends (contracts/liveness_datagram.hpp) and what the supervisor's inbox keeps,
// over a real UDP socket on this machine.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <thread>

#include "sigma/contracts/env_names.hpp"
#include "sigma/contracts/liveness_datagram.hpp"
#include "sigma/launcher/liveness_inbox.hpp"

namespace sigma::launch {
namespace {

const std::string kToken = "0123456789abcdef0123456789abcdef";

TEST(LivenessDatagram, ARecordRoundTrips) {
  const auto record = parse_liveness_datagram(liveness_datagram(3, 12.5, "9.1", "n2", kToken), kToken, "9.1");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->rank, 3);
  EXPECT_DOUBLE_EQ(record->time, 12.5);
  EXPECT_EQ(record->node, "n2");
}

TEST(LivenessDatagram, AWrongTokenAnotherAttemptOrAMalformedDatagramIsDropped) {
  EXPECT_FALSE(parse_liveness_datagram(liveness_datagram(3, 12.5, "9.1", "n2", "guess"), kToken, "9.1"));
  EXPECT_FALSE(parse_liveness_datagram(liveness_datagram(3, 12.5, "9.0", "n2", kToken), kToken, "9.1"));
  EXPECT_FALSE(parse_liveness_datagram("{\"v\":2,\"rank\":", kToken, std::nullopt));
  EXPECT_FALSE(parse_liveness_datagram("[1,2]", kToken, std::nullopt));
  EXPECT_FALSE(parse_liveness_datagram(R"({"v":1,"rank":0,"time":1,"attempt":"","node":"n1","token":")" + kToken +
                                           "\"}",
                                       kToken, std::nullopt));
  EXPECT_FALSE(parse_liveness_datagram(R"({"v":2,"rank":-1,"time":1,"attempt":"","node":"n1","token":")" + kToken +
                                           "\"}",
                                       kToken, std::nullopt));
  EXPECT_FALSE(parse_liveness_datagram(R"({"v":2,"rank":"0","time":1,"attempt":"","node":"n1","token":")" +
                                           kToken + "\"}",
                                       kToken, std::nullopt));
  EXPECT_FALSE(parse_liveness_datagram(std::string(kMaxLivenessDatagramBytes + 1, ' '), kToken, std::nullopt));
}

TEST(LivenessDatagram, TheAddressNeedsHostPortAndToken) {
  setenv(env::kSlurmLaunchNodeAddress, "127.0.0.1", 1);
  setenv(env::kLivenessToken, kToken.c_str(), 1);
  for (const char* bad : {"", "0", "65536", "12ab", "-5"}) {
    setenv(env::kLivenessPort, bad, 1);
    EXPECT_FALSE(liveness_address_from_env()) << bad;
  }
  setenv(env::kLivenessPort, "4242", 1);
  const auto to = liveness_address_from_env();
  ASSERT_TRUE(to);
  EXPECT_EQ(to->port, 4242);
  unsetenv(env::kLivenessToken);
  EXPECT_FALSE(liveness_address_from_env());
  unsetenv(env::kSlurmLaunchNodeAddress);
  unsetenv(env::kLivenessPort);
}

// Waits until the inbox holds `ranks` records or five seconds have passed (datagrams on loopback arrive at once).
std::vector<Liveness> receive(LivenessInbox& inbox, std::size_t ranks) {
  for (int i = 0; i < 500 && inbox.records().size() < ranks; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return inbox.records();
}

TEST(LivenessInbox, KeepsEachRanksNewestRecordOfTheAttemptWithTheToken) {
  LivenessInbox inbox;
  ASSERT_NE(inbox.port(), 0);
  inbox.expect("7.1");
  EXPECT_EQ(inbox.token().size(), 32u);
  LivenessSender sender({"127.0.0.1", inbox.port(), inbox.token()});
  ASSERT_TRUE(sender.ready());
  sender.send(liveness_datagram(0, 10, "7.1", "n1", inbox.token()));
  sender.send(liveness_datagram(0, 11, "7.1", "n1", inbox.token()));
  sender.send(liveness_datagram(1, 20, "7.1", "n2", "not-the-token"));
  sender.send(liveness_datagram(2, 30, "7.0", "n3", inbox.token()));  // the aborted attempt's
  sender.send(liveness_datagram(3, 12, "7.1", "n4", inbox.token()));
  const auto records = receive(inbox, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].rank, 0);
  EXPECT_DOUBLE_EQ(records[0].time, 11);
  EXPECT_EQ(records[1].rank, 3);
  EXPECT_EQ(records[1].node, "n4");
  inbox.expect("7.2");
  EXPECT_TRUE(inbox.records().empty());
}

// 2,048 ranks' beats within a third of a second, more than the socket's default buffer holds: the receiving thread
// takes them as they come. (Three times the rate of 2,048 ranks beating once a second each.)
TEST(LivenessInbox, A2048RankBurstIsTakenWhole) {
  LivenessInbox inbox;
  ASSERT_NE(inbox.port(), 0);
  inbox.expect("7.1");
  LivenessSender sender({"127.0.0.1", inbox.port(), inbox.token()});
  constexpr int kRanks = 2048;
  for (int rank = 0; rank < kRanks; ++rank) {
    sender.send(liveness_datagram(rank, 10, "7.1", std::to_string(rank / 8), inbox.token()));
    if (rank % 32 == 31) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // 4 nodes' worth at once
  }
  EXPECT_EQ(receive(inbox, kRanks).size(), static_cast<std::size_t>(kRanks));
}

TEST(LivenessInbox, FilesAndDatagramsMergeToEachRanksNewest) {
  const auto merged = newest_liveness({{0, 5, "n1"}, {1, 9, "n2"}}, {{0, 7, "n1"}, {2, 3, "n3"}});
  ASSERT_EQ(merged.size(), 3u);
  EXPECT_DOUBLE_EQ(merged[0].time, 7);
  EXPECT_DOUBLE_EQ(merged[1].time, 9);
  EXPECT_EQ(merged[2].node, "n3");
}

}  // namespace
}  // namespace sigma::launch
