// What binaries print around their work: text from files and events is made safe for a terminal.
#include <gtest/gtest.h>

#include "sigma/core/cli.hpp"

using namespace sigma;

TEST(Printable, ControlCharactersAndInvalidUtf8AreEscaped) {
  EXPECT_EQ(printable("plain text: 1/2"), "plain text: 1/2");
  EXPECT_EQ(printable("a\x1b[2Jb\nforged"), "a\\x1b[2Jb\\x0aforged");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(printable("key\xff\xfe"), "key\\xff\\xfe");
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");          // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a UTF-16 surrogate
  EXPECT_EQ(printable("\xe2\x82"), "\\xe2\\x82");          // cut short
}
