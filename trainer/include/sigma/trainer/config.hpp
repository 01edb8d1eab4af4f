// The run config of sigma-train: model shape, optimizer, data, parallelism and telemetry. One table of keys
// serves the YAML file and the command line, so both accept exactly the same names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "sigma/trainer/guard_config.hpp"

namespace sigma::trainer {

struct ModelConfig {
  int vocab_size = 256;
  int d_model = 64;
  int n_layers = 2;
  int n_heads = 4;
  int seq_len = 64;
  int n_experts = 4;
  int d_ff = 128;                // hidden size of each SwiGLU expert
  std::vector<int> top_k{2};     // one value for all layers, or one per layer
  float capacity_factor = 0.0f;  // 0 = no capacity limit (no token is dropped)
  float aux_loss_coef = 0.01f;   // global-batch load-balancing loss
  float z_loss_coef = 0.0f;      // router z-loss
  float rope_theta = 10000.0f;
  float init_std = 0.02f;
  float norm_eps = 1e-5f;

  int top_k_of(int layer) const { return top_k.size() == 1 ? top_k[0] : top_k[static_cast<size_t>(layer)]; }
};

struct OptimConfig {
  float lr = 3e-3f;
  float min_lr = 3e-4f;
  int warmup_steps = 10;
  float weight_decay = 0.1f;
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float grad_clip = 1.0f;  // 0 = no clipping
};

struct TrainConfig {
  ModelConfig model;
  OptimConfig optim;
  std::string data;          // token file (see trainer/README.md)
  int global_batch = 8;      // sequences per step over all ranks
  int steps = 100;
  uint64_t seed = 1234;
  int ep_size = 1;           // ranks per expert-parallel group
  int threads = 1;           // compute threads per rank (parallel.hpp)
  int log_every = 1;
  std::string log_jsonl;     // per-step JSON lines (rank 0); empty = none
  std::string heartbeat;     // file rewritten every step (rank 0); empty = none
  int checkpoint_every = 0;  // steps between checkpoint hook calls; 0 = only on signal
  int memory_copy_every = 1;  // steps between in-memory copies of the state (with a checkpoint directory); 0 = off
  double memory_copy_budget = 0.03;  // the interval widens while a copy costs more than this share of training; 0: fixed
  std::string memory_copy_dir = "/dev/shm";  // node-local memory (a tmpfs) that holds them
  double peak_gflops = 0;    // per-rank peak for MFU; 0 = measure with sgemm at start
  int replica_check_every = 0;  // steps between cross-replica weight-hash checks (silent data corruption); 0 = off
  GuardConfig guard;
  FaultConfig fault;
};

// Reads a YAML file of `key: value` pairs (keys as in the table), checked by core's yaml::Section as the site
// config is: unknown or duplicate keys, a second document, wrong types and values out of range throw
// sigma::Error(config) "file:line:col: key: expected ..., got ..."; a missing file throws not_found.
void load_yaml_config(const std::string& path, TrainConfig& config);

// Adds one --option per config key (dashes for underscores) plus --config.
void add_config_options(boost::program_options::options_description& options);

// Applies --config first, then every config option given on the command line. Bad values throw
// sigma::Error(usage) naming the option.
void apply_command_line(const boost::program_options::variables_map& vm, TrainConfig& config);

// Cross-field checks that need no data and no MPI (shapes, ranges); throws sigma::Error(config).
void validate_config(const TrainConfig& config);

// The YAML text of a config (for logs and the config hash).
std::string config_to_yaml(const TrainConfig& config);

// Hash over everything that must not change on resume (model, optimizer, batch, seed).
std::string config_hash(const TrainConfig& config);

}  // namespace sigma::trainer
