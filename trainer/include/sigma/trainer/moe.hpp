// One MoE FFN layer: fp32 softmax router, top-k with weights renormalised over the chosen k, capacity limit
// per (source rank, expert) in token order, SwiGLU experts spread over the expert-parallel group. Tokens travel
// to the rank holding their expert and back with MPI_Alltoallv, in the forward and in the backward pass.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <mpi.h>

#include "sigma/trainer/comm.hpp"
#include "sigma/trainer/config.hpp"
#include "sigma/trainer/floats.hpp"

namespace sigma::trainer {

struct MoeWeights {
  const float* router;  // [D, E]
  const float* w1;      // [E_local, D, F] gate
  const float* w3;      // [E_local, D, F] up
  const float* w2;      // [E_local, F, D] down
};

struct MoeGrads {
  float* router;
  float* w1;
  float* w3;
  float* w2;
};

// What one layer did in one step, summed over all ranks.
struct MoeStats {
  std::vector<int64_t> selected;  // [E] routing choices before the capacity limit (drives the aux loss)
  std::vector<int64_t> kept;      // [E] tokens each expert processed
  int64_t dropped = 0;            // choices that overflowed capacity (their token passes through the residual)
};

class MoeLayer {
 public:
  MoeLayer(const ModelConfig& model, int layer, const Comm& comm, int tokens_local);

  // x: [N, D] (normalised input). out: [N, D], overwritten. Returns this rank's share of
  // aux_loss_coef * aux + z_loss_coef * z, each already divided by the global token count.
  struct Losses {
    double aux = 0, z = 0;
  };
  Losses forward(const float* x, const MoeWeights& w, float* out, double global_tokens);
  // dout: [N, D]. dx is accumulated into; grads accumulate.
  void backward(const float* dout, const float* x, const MoeWeights& w, float* dx, const MoeGrads& g);

  const MoeStats& stats() const { return stats_; }

 private:
  void route(const float* x, const float* router);
  void apply_capacity();
  void build_send_buffer(const float* x);
  void exchange_counts();
  // Rows out to the expert ranks and back, each as start (MPI_Ialltoallv) and finish (wait, regroup); finish
  // returns where the rows now are (the input itself when the EP group is one rank: no copy, no MPI).
  bool local_only() const;
  void start_to_experts(const float* send_order);
  const float* finish_to_experts(const float* send_order, Floats& expert_order);
  void start_from_experts(const float* expert_order, Floats& send_order);
  const float* finish_from_experts(const float* expert_order, const Floats& send_order);
  Losses balancing_losses();  // waits for the reduced counts; fills stats_ and load_fraction_
  // segment(local expert, first row, rows) over the rows in expert order, split over the rank's threads.
  void for_expert_rows(const std::function<void(int, int, int)>& segment) const;
  void experts_forward(const MoeWeights& w);
  void experts_backward(const MoeWeights& w, const MoeGrads& g, const float* dy, float* dx_rows);
  void router_backward(const float* x, const MoeWeights& w, float* dx, const MoeGrads& g);

  const Comm& comm_;
  int N_, D_, E_, F_, k_, E_local_;
  float capacity_factor_, aux_coef_, z_coef_;
  double global_tokens_ = 1;

  // Routing, per token t and slot j (index a = t*k + j).
  Floats logits_, probs_, lse_;              // [N,E], [N,E], [N]
  std::vector<int> choice_;                  // [N*k] global expert
  Floats weight_, chosen_sum_;               // [N*k] renormalised weight, [N] sum of the chosen probs
  std::vector<int> send_pos_;                // [N*k] row in the send buffer, -1 when dropped
  std::vector<int64_t> counts_[2];           // local selected, kept (reduced in flight into stats_)
  std::vector<double> load_fraction_;        // [E] f_e over the global batch
  MPI_Request counts_request_ = MPI_REQUEST_NULL;
  std::vector<int64_t> reduced_counts_;      // [2E]

  // Dispatch: send rows ordered by global expert (= by destination rank, then local expert), receive rows
  // ordered by source rank then local expert; experts compute on rows regrouped by local expert.
  std::vector<int> send_rows_per_expert_;  // [E]
  std::vector<int> recv_rows_;             // [ep_size * E_local]: rows from source s for local expert le
  std::vector<int> send_counts_, send_displs_, recv_counts_, recv_displs_;  // in floats, per EP rank
  std::vector<int> recv_to_expert_row_;   // received row r -> row in expert order
  std::vector<int> expert_row_begin_;     // [E_local + 1]
  int send_total_ = 0, recv_total_ = 0;

  Floats send_, expert_in_, gate_, up_, act_, expert_out_, returned_;  // activations
  const float* expert_rows_ = nullptr;    // expert input rows: expert_in_, or send_ itself (local_only)
  const float* returned_rows_ = nullptr;  // expert outputs in send order: returned_, or expert_out_ itself
  MPI_Request transfer_ = MPI_REQUEST_NULL;
  // Transfer and backward scratch, kept between steps: reallocating megabytes each step costs page faults.
  Floats recv_order_, scratch_rows_, scratch_send_, scratch_dy_, scratch_dprobs_, scratch_back_, scratch_ff_[3];
  Floats dweight_;  // [N*k]

  MoeStats stats_;
};

}  // namespace sigma::trainer
