// The token file format, the data order and the learning-rate schedule.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "sigma/core/error.hpp"
#include "sigma/trainer/optimizer.hpp"
#include "sigma/trainer/token_file.hpp"

namespace sigma::trainer {
namespace {

// A private directory per test process (files are written through core's durable-file helper, which refuses a
// directory other users can write, such as /tmp itself, when the tests run as root), removed at exit.
struct PrivateDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("sigma_trainer_" + std::to_string(getpid()));
  PrivateDir() { std::filesystem::create_directory(path); }
  ~PrivateDir() { std::filesystem::remove_all(path); }
};

std::string temp_path(const std::string& name) {
  static const PrivateDir dir;
  return (dir.path / name).string();
}

TEST(TokenFile, RoundTripsNarrowAndWideTokens) {
  for (uint32_t vocab : {256u, 100000u}) {
    TokenData data;
    data.vocab_size = vocab;
    for (uint32_t i = 0; i < 1000; ++i) data.tokens.push_back((i * 7919u) % vocab);
    std::string path = temp_path("roundtrip.tok");
    write_token_file(path, data);
    EXPECT_EQ(std::filesystem::file_size(path), kTokenHeaderBytes + 1000 * (vocab <= 65536 ? 2 : 4));
    TokenData back = read_token_file(path);
    EXPECT_EQ(back.vocab_size, vocab);
    EXPECT_EQ(back.tokens, data.tokens);
    std::remove(path.c_str());
  }
}

TEST(TokenFile, TokenOutsideTheVocabularyIsBadData) {
  TokenData data;
  data.vocab_size = 300;
  data.tokens = {1, 2, 299};
  std::string path = temp_path("vocab.tok");
  write_token_file(path, data);
  {  // patch the header's vocab size down to 256: token 299 no longer fits
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(16);
    const char vocab256[4] = {0, 1, 0, 0};
    f.write(vocab256, 4);
  }
  try {
    read_token_file(path);
    FAIL() << "expected bad_data";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_data);
    EXPECT_NE(std::string(e.what()).find("token 2 (offset 36): value 299 is not below vocab size 256"),
              std::string::npos)
        << e.what();
  }
  std::remove(path.c_str());
}

TEST(DataOrder, WindowsAreInRangeDeterministicAndSeedDependent) {
  const uint64_t count = 1000;
  const int T = 64;
  int differ = 0;
  for (uint64_t n = 0; n < 10000; ++n) {
    uint64_t start = sequence_start(7, n, count, T);
    ASSERT_LE(start + T, count - 1) << "the window and its last target must fit";
    ASSERT_EQ(start, sequence_start(7, n, count, T));
    differ += start != sequence_start(8, n, count, T);
  }
  EXPECT_GT(differ, 9000);
}

TEST(Schedule, WarmupThenCosineToMinimum) {
  OptimConfig o;
  o.lr = 1.0f;
  o.min_lr = 0.1f;
  o.warmup_steps = 10;
  EXPECT_FLOAT_EQ(learning_rate(o, 0, 110), 0.1f);
  EXPECT_FLOAT_EQ(learning_rate(o, 9, 110), 1.0f);
  EXPECT_FLOAT_EQ(learning_rate(o, 10, 110), 1.0f);
  EXPECT_NEAR(learning_rate(o, 60, 110), 0.55f, 0.01f);
  EXPECT_FLOAT_EQ(learning_rate(o, 109, 110), 0.1f);
}

}  // namespace
}  // namespace sigma::trainer
