// The in-memory copies' pieces without MPI: who mirrors whom, and a copy's format (whole or rejected).
#include <gtest/gtest.h>

#include "copy_partners.hpp"
#include "memory_copy_format.hpp"
#include "synthetic_state.hpp"

namespace sigma::ckpt {
namespace {

TEST(CopyPartners, EveryRankMirrorsOnTheNextNode) {
  const CopyPlan plan = plan_copies({"a", "a", "b", "b", "c", "c"});
  EXPECT_EQ(plan.partner, (std::vector<int>{2, 3, 4, 5, 0, 1}));
  EXPECT_EQ(mirrored_by(plan, 0), (std::vector<int>{4}));
}

TEST(CopyPartners, UnevenNodesStillMirrorElsewhere) {
  const CopyPlan plan = plan_copies({"a", "b", "a", "a"});  // a: ranks 0, 2, 3; b: rank 1
  for (size_t r = 0; r < plan.partner.size(); ++r) {
    EXPECT_NE(plan.node_of[r], plan.node_of[static_cast<size_t>(plan.partner[r])]) << "rank " << r;
  }
  EXPECT_EQ(mirrored_by(plan, 1), (std::vector<int>{0, 2, 3}));
}

TEST(CopyPartners, OneNodeHasNoPartner) {
  EXPECT_EQ(plan_copies({"a", "a"}).partner, (std::vector<int>{-1, -1}));
}

TEST(MemoryCopyFormat, RoundTripsBitwise) {
  testing::SyntheticState written({0, 2, 2}), read({0, 2, 2});
  written.fill(7);
  written.view().scalars = {{"step", 7}};
  const std::string bytes = encode_copy(0, 2, 7, written.view());
  std::string why;
  const auto header = verify_copy(bytes, why);
  ASSERT_TRUE(header) << why;
  EXPECT_EQ(header->step, 7);
  EXPECT_EQ(header->world, 2);
  EXPECT_EQ(header->scalars["step"], 7);
  ASSERT_EQ(copy_matches(*header, read.view()), "");
  fill_from_copy(bytes, *header, read.view());
  EXPECT_EQ(read.mismatches(7), 0);
}

TEST(MemoryCopyFormat, AnyFlippedByteOrTruncationIsRejected) {
  testing::SyntheticState state({0, 1, 1});
  state.fill(3);
  const std::string bytes = encode_copy(0, 1, 3, state.view());
  std::string why;
  for (size_t at : {size_t{0}, size_t{9}, bytes.size() / 2, bytes.size() - 1}) {
    std::string bad = bytes;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    EXPECT_FALSE(verify_copy(bad, why)) << "byte " << at;
  }
  EXPECT_FALSE(verify_copy(bytes.substr(0, bytes.size() - 1), why));
  EXPECT_FALSE(verify_copy("", why));
}

TEST(MemoryCopyFormat, AnotherLayoutDoesNotMatch) {
  testing::SyntheticState one({0, 1, 1}), two({0, 2, 2});
  one.fill(1);
  std::string why;
  const std::string bytes = encode_copy(0, 1, 1, one.view());
  const auto header = verify_copy(bytes, why);
  ASSERT_TRUE(header);
  EXPECT_NE(copy_matches(*header, two.view()), "");
}

}  // namespace
}  // namespace sigma::ckpt
