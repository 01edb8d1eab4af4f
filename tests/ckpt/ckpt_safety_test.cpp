// A damaged newest step is detected by verify and skipped by load (with a ledger event), unless strict.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "ckpt_test_dir.hpp"
#include "sigma/ckpt/catalog.hpp"
#include "sigma/ckpt/checkpoint.hpp"
#include "sigma/core/error.hpp"
#include "sigma/contracts/ledger.hpp"
#include "synthetic_state.hpp"

namespace sigma::ckpt::testing {
namespace {

class Safety : public CkptTest {
 protected:
  void SetUp() override {
    CkptTest::SetUp();
    for (int64_t step : {1, 2}) {
      state_.fill(step);
      save_checkpoint(MPI_COMM_WORLD, dir(), step, state_.view());
    }
    state_.clear();
  }
  std::string newest_shard() const { return dir() + "/step_00000002/shard_r00000.h5"; }

  // Flips the lowest bit of the stored value of (tensor, row, col) in the newest step's shard.
  void flip_bit_of(const std::string& tensor, int64_t row, int64_t col) {
    const float value = expected_value(tensor, 2, row, col);
    std::string bytes = read_all(newest_shard());
    const auto at = bytes.find(std::string(reinterpret_cast<const char*>(&value), sizeof value));
    ASSERT_NE(at, std::string::npos);
    bytes[at] = static_cast<char>(bytes[at] ^ 1);
    std::ofstream(newest_shard(), std::ios::binary | std::ios::trunc) << bytes;
  }
  static std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  void expect_fallback_to_step_1() {
    LoadOptions options;
    options.ledger_path = dir() + "/ledger.jsonl";
    auto loaded = load_newest_checkpoint(MPI_COMM_WORLD, dir(), state_.view(), options);
    ASSERT_TRUE(loaded);
    EXPECT_EQ(loaded->step, 1);
    EXPECT_EQ(state_.mismatches(1), 0);
    auto ledger = read_ledger(options.ledger_path);
    ASSERT_EQ(ledger.events.size(), 1u);
    EXPECT_EQ(ledger.events[0]["event"], "ckpt_rejected");
  }

  SyntheticState state_{Layout{}};
};

TEST_F(Safety, FlippedBitIsCorruptAndLoadFallsBack) {
  flip_bit_of("adam.v.experts.w2", 5, 3);
  const VerifyReport report = verify_step(dir() + "/step_00000002");
  EXPECT_EQ(report.verdict, ExitCode::bad_data);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].find("shard_r00000.h5: dataset /adam.v.experts.w2: checksum mismatch"),
            std::string::npos) << report.problems[0];
  expect_fallback_to_step_1();
}

TEST_F(Safety, MissingShardIsNotFoundAndLoadFallsBack) {
  std::filesystem::remove(newest_shard());
  EXPECT_EQ(verify_step(dir() + "/step_00000002").verdict, ExitCode::not_found);
  expect_fallback_to_step_1();
}

TEST_F(Safety, TruncatedShardIsCorruptAndLoadFallsBack) {
  std::filesystem::resize_file(newest_shard(), std::filesystem::file_size(newest_shard()) / 2);
  EXPECT_EQ(verify_step(dir() + "/step_00000002").verdict, ExitCode::bad_data);
  expect_fallback_to_step_1();
}

TEST_F(Safety, StrictLoadFailsOnTheNewestStep) {
  flip_bit_of("embed", 0, 0);
  LoadOptions options;
  options.strict = true;
  try {
    load_newest_checkpoint(MPI_COMM_WORLD, dir(), state_.view(), options);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_data);
  }
}

TEST_F(Safety, NothingVerifiesIsBadData) {
  flip_bit_of("embed", 1, 1);
  std::filesystem::remove(dir() + "/step_00000001/manifest.json");
  try {
    load_newest_checkpoint(MPI_COMM_WORLD, dir(), state_.view());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_data);
  }
}

// Retention counts only steps that verify: with the newest step corrupt, keeping one keeps the good one too.
TEST_F(Safety, PruneNeverRemovesTheNewestStepThatVerifies) {
  flip_bit_of("embed", 0, 0);
  const auto removed = prune_steps(dir(), 1, 0);
  EXPECT_TRUE(removed.empty());
  EXPECT_EQ(verify_step(dir() + "/step_00000001").verdict, ExitCode::ok);
  expect_fallback_to_step_1();
}

// A manifest moved or edited into another step's directory is a broken step, not that step.
TEST_F(Safety, ManifestStepDifferentFromItsDirectoryIsBroken) {
  std::filesystem::rename(dir() + "/step_00000002", dir() + "/step_00001000");
  const auto report = verify_step(dir() + "/step_00001000");
  EXPECT_EQ(report.verdict, ExitCode::bad_data);
  ASSERT_FALSE(report.problems.empty());
  EXPECT_NE(report.problems[0].find("step 2 differs from its directory's step 1000"), std::string::npos)
      << report.problems[0];
  expect_fallback_to_step_1();
}

// The program's own scalar checks (LoadOptions::accept_scalars) reject a step like a bad checksum does.
TEST_F(Safety, RejectedScalarsFallBackToTheStepBefore) {
  LoadOptions options;
  options.accept_scalars = [](const nlohmann::json& scalars) {
    if (scalars.at("rng").at(2) == 2) throw Error(ExitCode::bad_data, "position does not follow from the step");
  };
  auto loaded = load_newest_checkpoint(MPI_COMM_WORLD, dir(), state_.view(), options);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->step, 1);
  EXPECT_EQ(state_.mismatches(1), 0);
}

// A manifest claiming a huge shape is refused before anything is allocated for it (it was a bad_alloc).
TEST_F(Safety, HugeShapeInTheManifestIsBrokenNotAnAllocation) {
  const std::string manifest = dir() + "/step_00000002/manifest.json";
  auto j = nlohmann::json::parse(read_all(manifest));
  for (auto& [name, tensor] : j["tensors"].items()) {
    tensor["global_shape"][0] = int64_t{1} << 40;
    for (auto& piece : tensor["pieces"]) piece["row_end"] = int64_t{1} << 40;
  }
  std::ofstream(manifest, std::ios::trunc) << j.dump();
  const auto report = verify_step(dir() + "/step_00000002");
  EXPECT_EQ(report.verdict, ExitCode::bad_data);
  ASSERT_FALSE(report.problems.empty());
  EXPECT_NE(report.problems[0].find("elements"), std::string::npos) << report.problems[0];
  // Within the bound but not what the shard holds: the dataset's shape is checked before any buffer exists.
  j = nlohmann::json::parse(read_all(dir() + "/step_00000001/manifest.json"));
  for (auto& [name, tensor] : j["tensors"].items()) {
    tensor["global_shape"][0] = int64_t{1} << 26;
    for (auto& piece : tensor["pieces"]) piece["row_end"] = int64_t{1} << 26;
    break;
  }
  std::ofstream(dir() + "/step_00000001/manifest.json", std::ios::trunc) << j.dump();
  const auto second = verify_step(dir() + "/step_00000001");
  EXPECT_EQ(second.verdict, ExitCode::bad_data);
}

TEST_F(Safety, UncommittedTemporaryStepIsIgnored) {
  std::filesystem::create_directory(dir() + "/.tmp_step_00000003");
  std::ofstream(dir() + "/.tmp_step_00000003/shard_r00000.h5") << "half written";
  ASSERT_EQ(load_newest_checkpoint(MPI_COMM_WORLD, dir(), state_.view())->step, 2);
  EXPECT_EQ(state_.mismatches(2), 0);
}

}  // namespace
}  // namespace sigma::ckpt::testing
