// Data and expert parallelism, run under mpirun with 2 ranks. Every rank also trains the same model alone
// on MPI_COMM_SELF as the reference, so no files are exchanged.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "sigma/core/error.hpp"
#include "sigma/trainer/trainer.hpp"
#include "tiny_model.hpp"

namespace sigma::trainer {
namespace {

int world_size() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

TrainConfig parallel_config(int ep_size, int global_batch = 4) {
  auto c = testing::tiny_config();
  c.global_batch = global_batch;
  c.steps = 10;
  c.ep_size = ep_size;
  return c;
}

std::vector<double> losses(Trainer& t, int steps) {
  std::vector<double> out;
  for (int i = 0; i < steps; ++i) out.push_back(t.step().loss.total());
  return out;
}

// The full expert tensor of a trainer, gathered over its EP group (dense tensors are returned as they are).
std::vector<float> gathered(Trainer& t, const std::string& name) {
  for (const auto& s : t.state().tensors) {
    if (s.name != name) continue;
    size_t local = 1;
    for (auto d : s.local_shape) local *= static_cast<size_t>(d);
    if (s.local_shape == s.global_shape) return {s.data, s.data + local};
    std::vector<float> all(local * static_cast<size_t>(t.comm().ep_size()));
    MPI_Allgather(s.data, static_cast<int>(local), MPI_FLOAT, all.data(), static_cast<int>(local), MPI_FLOAT,
                  t.comm().ep());
    return all;
  }
  ADD_FAILURE() << "no tensor " << name;
  return {};
}

void expect_close(const std::vector<float>& a, const std::vector<float>& b, double tol, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
  EXPECT_LT(worst, tol) << what;
}

void compare_with_single_rank(int ep_size, int global_batch = 4) {
  ASSERT_EQ(world_size(), 2) << "run under mpirun -n 2";
  auto data = testing::synthetic_tokens(32, 4000);
  Trainer parallel(parallel_config(ep_size, global_batch), MPI_COMM_WORLD, data);
  Trainer alone(parallel_config(1, global_batch), MPI_COMM_SELF, data);
  auto p = losses(parallel, 10), a = losses(alone, 10);
  for (size_t i = 0; i < p.size(); ++i)
    EXPECT_NEAR(p[i], a[i], 2e-5 * std::abs(a[i])) << "step " << i + 1 << ": fp32 reduction order is the only difference";
  for (const char* name : {"embed", "layers.0.attn.wq", "layers.0.moe.router", "layers.0.moe.experts.w1",
                           "layers.1.moe.experts.w2", "lm_head"})
    expect_close(gathered(parallel, name), gathered(alone, name), 1e-4, name);
}

TEST(Parallel, DataParallelMatchesOneRank) { compare_with_single_rank(1); }

TEST(Parallel, ExpertParallelMatchesOneRank) { compare_with_single_rank(2); }

// A world size that does not divide the global batch (a job shrunk onto fewer nodes): 2 and 3 sequences.
TEST(Parallel, AnUnevenSplitOfTheBatchMatchesOneRank) { compare_with_single_rank(2, 5); }

TEST(BatchShare, SharesCoverTheBatchOnceAndDifferByAtMostOne) {
  for (int world : {1, 2, 3, 7, 8}) {
    for (int batch : {8, 9, 13, 64}) {
      int next = 0;
      for (int r = 0; r < world; ++r) {
        const BatchShare share = batch_share(batch, r, world);
        EXPECT_EQ(share.first, next) << batch << " over " << world;
        EXPECT_GE(share.count, batch / world);
        EXPECT_LE(share.count, largest_share(batch, world));
        next += share.count;
      }
      EXPECT_EQ(next, batch) << batch << " over " << world;
    }
  }
  EXPECT_EQ(batch_share(8, 1, 2).first, 4);  // an even split is the old one: rank r takes r * G / W on
}

TEST(Parallel, ExpertParallelIsBitwiseDeterministic) {
  auto data = testing::synthetic_tokens(32, 4000);
  Trainer a(parallel_config(2), MPI_COMM_WORLD, data), b(parallel_config(2), MPI_COMM_WORLD, data);
  losses(a, 6);
  losses(b, 6);
  EXPECT_EQ(std::memcmp(a.weights().dense.data(), b.weights().dense.data(), a.weights().dense.size() * 4), 0);
  EXPECT_EQ(std::memcmp(a.weights().expert.data(), b.weights().expert.data(), a.weights().expert.size() * 4), 0);
}

TEST(Parallel, StateViewDescribesTheShards) {
  Trainer t(parallel_config(2), MPI_COMM_WORLD, testing::synthetic_tokens(32, 4000));
  int rank = t.comm().rank();
  for (const auto& s : t.state().tensors) {
    bool expert = s.name.find(".experts.") != std::string::npos;
    if (expert) {
      EXPECT_EQ(s.global_shape[0], 4) << s.name;
      EXPECT_EQ(s.local_shape[0], 2) << s.name;
      EXPECT_EQ(s.offset0, 2 * rank) << s.name;
      EXPECT_EQ(s.replica_count, 1) << s.name;
    } else {
      EXPECT_EQ(s.replica_count, 2) << s.name;
      EXPECT_EQ(s.replica_index, rank) << s.name;
    }
  }
}

TEST(Parallel, CapacityDropsAreCountedOverAllRanks) {
  auto config = parallel_config(2);
  config.model.capacity_factor = 0.5f;
  Trainer t(config, MPI_COMM_WORLD, testing::synthetic_tokens(32, 4000));
  StepReport r = t.step();
  int64_t kept = 0;
  for (const auto& layer : r.tokens_per_expert)
    for (auto c : layer) kept += c;
  // Global assignments: 4 sequences * 6 tokens * (top-2 in layer 0 + top-1 in layer 1).
  EXPECT_EQ(kept + r.dropped, 4 * 6 * 3);
  EXPECT_GT(r.dropped, 0);
}

}  // namespace
}  // namespace sigma::trainer

namespace sigma::trainer {
namespace {

TEST(Parallel, ReplicaCheckCatchesCorruptedWeights) {
  auto config = parallel_config(1);
  config.global_batch = 2 * world_size();
  Trainer t(config, MPI_COMM_WORLD, testing::synthetic_tokens(32, 4000));
  t.step();
  EXPECT_NO_THROW(t.check_replicas());
  if (t.comm().rank() == 1) t.state().tensors[3].data[5] += 1e-3f;  // one flipped value on rank 1
  try {
    t.check_replicas();
    FAIL() << "expected a node_hardware error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::node_hardware);
    // Two replicas cannot outvote each other; with three or more the message names the odd rank.
    const char* expected = world_size() == 2 ? "no copy has a majority" : "rank 1 differ";
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sigma::trainer
