// The run config: read through core's yaml::Section, so each bad file gets the site config's one-line message
// format ("file:line:col: key: expected ..., got ..."), and good files set what they say. The config hash, which
// every checkpoint records, is pinned: a change to the loader must not make old checkpoints refuse to resume.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "sigma/core/error.hpp"
#include "sigma/trainer/config.hpp"
#include "tiny_model.hpp"

namespace sigma::trainer {
namespace {

namespace fs = std::filesystem;

struct BadConfig {
  const char* file;
  const char* message;  // the message names the file by the path it was given: here bad-configs/<file>
};

// Each file under bad-configs/ and the exact message it must produce.
const BadConfig kBadConfigs[] = {
    {"01-syntax.yaml",
     "01-syntax.yaml:3:1: YAML syntax error: end of sequence flow not found"},
    {"02-not-a-map.yaml",
     "02-not-a-map.yaml:1:1: expected a mapping of keys, got a list"},
    {"03-unknown-key.yaml",
     "03-unknown-key.yaml:2:1: n_expert: unknown key (did you mean \"n_experts\"?)"},
    {"04-duplicate-key.yaml",
     "04-duplicate-key.yaml:2:1: d_model: duplicate key"},
    {"05-second-document.yaml",
     "05-second-document.yaml:2:1: a second YAML document; expected one"},
    {"06-endless-documents.yaml",
     "06-endless-documents.yaml:1:1: a second YAML document; expected one"},
    {"07-wrong-type.yaml",
     "07-wrong-type.yaml:1:10: d_model: expected an integer, got \"sixteen\""},
    {"08-out-of-range.yaml",
     "08-out-of-range.yaml:1:11: n_layers: expected an integer in [1, 1024], got 0"},
    {"09-float-for-int.yaml",
     "09-float-for-int.yaml:1:15: global_batch: expected an integer, got \"8.5\""},
    {"10-bad-number.yaml",
     "10-bad-number.yaml:1:5: lr: expected a number, got \"fast\""},
    {"11-number-out-of-range.yaml",
     "11-number-out-of-range.yaml:1:8: beta2: expected a number in [0, 0.999999], got 1.5"},
    {"12-nan.yaml",
     "12-nan.yaml:1:5: lr: expected a number, got \".nan\""},
    {"13-bad-bool.yaml",
     "13-bad-bool.yaml:1:18: spike_skip_data: expected true or false, got \"yes\""},
    {"14-bad-choice.yaml",
     "14-bad-choice.yaml:1:17: inject_bitflip: expected one of none, param, grad, got \"weights\""},
    {"15-top-k-item.yaml",
     "15-top-k-item.yaml:2:12: top_k: expected integers in [1, 1048576], got \"0\""},
    {"16-empty-top-k.yaml",
     "16-empty-top-k.yaml:1:8: top_k: expected an integer or a list of integers (one per layer), got an empty list"},
    {"17-list-for-string.yaml",
     "17-list-for-string.yaml:1:7: data: expected a string, got a list"},
    {"18-nothing.yaml",
     "18-nothing.yaml:1:1: data: expected a string, got nothing"},
    {"19-negative-seed.yaml",
     "19-negative-seed.yaml:1:7: seed: expected an integer in [0, 9223372036854775807], got -1"},
    {"20-mapping-for-int.yaml",
     "20-mapping-for-int.yaml:1:10: d_model: expected an integer, got a mapping"},
    {"21-unknown-no-hint.yaml",
     "21-unknown-no-hint.yaml:2:1: zzz_unlike_any_key: unknown key (expected one of aux_loss_coef, beta1"
     ", beta2, capacity_factor, checkpoint_every, d_ff, d_model, data, ep_size, eps, global_batch"
     ", grad_clip, grad_norm_check, heartbeat, init_std, inject_bitflip, inject_bitflip_bit"
     ", inject_bitflip_index, inject_bitflip_rank, inject_bitflip_step, inject_crash_at_step"
     ", inject_crash_rank, inject_hang_at_step, inject_hang_rank, inject_nan_at_step, inject_node"
     ", inject_repeat, inject_slow_factor, inject_slow_rank, inject_spike_at_step, inject_spike_factor"
     ", log_every, log_jsonl, lr, max_rollbacks, max_skipped_batches, memory_copy_budget, memory_copy_dir, memory_copy_every, metrics_textfile, min_lr, n_experts"
     ", n_heads, n_layers, peak_gflops, replica_check_every, rope_theta, seed, seq_len"
     ", skip_numerical_faults, spike_mads, spike_min_rise, spike_skip_data, spike_window, steps"
     ", straggler_margin, straggler_min_seconds, straggler_steps, threads, top_k, vocab_size, warmup_steps"
     ", weight_decay, z_loss_coef)"},
};

TEST(RunConfig, EachBadFileGetsItsOneLineMessage) {
  size_t files_on_disk = 0;
  for (const auto& entry : fs::directory_iterator(SIGMA_BAD_RUN_CONFIGS)) files_on_disk += entry.is_regular_file();
  ASSERT_EQ(files_on_disk, std::size(kBadConfigs)) << "every file in bad-configs/ needs an expected message";
  for (const auto& bad : kBadConfigs) {
    const std::string dir = SIGMA_BAD_RUN_CONFIGS;
    TrainConfig config;
    try {
      load_yaml_config(dir + "/" + bad.file, config);
      ADD_FAILURE() << bad.file << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::config) << bad.file;
      EXPECT_EQ(std::string(e.what()), dir + "/" + bad.message) << bad.file;
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << bad.file << ": message must be one line";
    }
  }
}

// One file per test process: ctest runs each test case in its own process, several at once.
struct TempYaml {
  fs::path path = fs::temp_directory_path() / ("sigma-run-config-test-" + std::to_string(getpid()) + ".yaml");
  explicit TempYaml(const std::string& text) { std::ofstream(path) << text; }
  ~TempYaml() { fs::remove(path); }
};

TEST(RunConfig, GoodFileSetsEveryKindOfKey) {
  TempYaml yaml("d_model: 32\nn_layers: 3\ntop_k: [2, 1, 1]\nlr: 1e-3\nseed: 9000000000\ndata: /tmp/t.tok\n"
                "grad_norm_check: false\ninject_bitflip: param\ninject_bitflip_index: 1000000000\n");
  TrainConfig c;
  load_yaml_config(yaml.path.string(), c);
  EXPECT_EQ(c.model.d_model, 32);
  EXPECT_EQ(c.model.top_k, (std::vector<int>{2, 1, 1}));
  EXPECT_FLOAT_EQ(c.optim.lr, 1e-3f);
  EXPECT_EQ(c.seed, 9000000000ull);
  EXPECT_EQ(c.data, "/tmp/t.tok");
  EXPECT_FALSE(c.guard.grad_norm_check);
  EXPECT_EQ(c.fault.bitflip, FaultTarget::param);
  EXPECT_EQ(c.fault.bitflip_index, 1000000000);
  EXPECT_EQ(c.model.n_heads, TrainConfig().model.n_heads) << "keys not in the file keep their value";
  TempYaml one("top_k: 1\n");
  load_yaml_config(one.path.string(), c);
  EXPECT_EQ(c.model.top_k, std::vector<int>{1});
}

TEST(RunConfig, EmptyFileChangesNothing) {
  TempYaml yaml("# defaults only\n");
  TrainConfig c = testing::tiny_config();
  load_yaml_config(yaml.path.string(), c);
  EXPECT_EQ(config_to_yaml(c), config_to_yaml(testing::tiny_config()));
}

TEST(RunConfig, MissingFileIsNotFound) {
  TrainConfig c;
  try {
    load_yaml_config("/nonexistent/run.yaml", c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::not_found);
    EXPECT_STREQ(e.what(), "/nonexistent/run.yaml: cannot open run config: No such file or directory");
  }
}

TEST(RunConfig, HashIsPinned) {
  EXPECT_EQ(config_hash(TrainConfig()), "fbe7ee78cf33f7b9");
  EXPECT_EQ(config_hash(testing::tiny_config()), "ea6605b99d199b87");
}

}  // namespace
}  // namespace sigma::trainer
