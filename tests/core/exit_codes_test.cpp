#include <gtest/gtest.h>

#include <set>

#include "sigma/core/exit_codes.hpp"

using namespace sigma;

TEST(ExitCodes, TableIsUniqueAndLookupsAgree) {
  std::set<int> codes;
  std::set<std::string_view> names;
  for (const auto& info : exit_code_table()) {
    EXPECT_TRUE(codes.insert(to_int(info.code)).second) << info.name;
    EXPECT_TRUE(names.insert(info.name).second) << info.name;
    EXPECT_EQ(exit_code_info(to_int(info.code))->name, info.name);
    EXPECT_EQ(exit_code_by_name(info.name)->code, info.code);
    EXPECT_LT(to_int(info.code), 126) << "codes >= 126 collide with the shell's signal codes";
  }
  EXPECT_FALSE(exit_code_info(77).has_value());
  EXPECT_FALSE(exit_code_by_name("nope").has_value());
}

TEST(ExitCodes, RequeueListNamesHardwareHangTransientAndRequeue) {
  EXPECT_EQ(requeue_exit_list(), "10,12,13,42");
}
