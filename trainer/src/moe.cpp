#include "sigma/trainer/moe.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sigma/trainer/kernels.hpp"
#include "sigma/trainer/parallel.hpp"
#include "lanes.hpp"

namespace sigma::trainer {
namespace {

constexpr int64_t kExpertRowsPerChunk = 16;  // the FFN of 16 rows: ~13 MFLOP at D=256, F=512

}  // namespace

MoeLayer::MoeLayer(const ModelConfig& m, int layer, const Comm& comm, int tokens_local)
    : comm_(comm),
      N_(tokens_local),
      D_(m.d_model),
      E_(m.n_experts),
      F_(m.d_ff),
      k_(m.top_k_of(layer)),
      E_local_(m.n_experts / comm.ep_size()),
      capacity_factor_(m.capacity_factor),
      aux_coef_(m.aux_loss_coef),
      z_coef_(m.z_loss_coef) {
  const size_t N = static_cast<size_t>(N_), E = static_cast<size_t>(E_), A = N * static_cast<size_t>(k_);
  logits_.resize(N * E);
  probs_.resize(N * E);
  lse_.resize(N);
  choice_.resize(A);
  weight_.resize(A);
  chosen_sum_.resize(N);
  send_pos_.resize(A);
  dweight_.resize(A);
  counts_[0].resize(E);
  counts_[1].resize(E);
  reduced_counts_.resize(2 * E);
  load_fraction_.resize(E);
  send_rows_per_expert_.resize(E);
  const size_t P = static_cast<size_t>(comm.ep_size());
  recv_rows_.resize(P * static_cast<size_t>(E_local_));
  send_counts_.resize(P);
  send_displs_.resize(P);
  recv_counts_.resize(P);
  recv_displs_.resize(P);
  expert_row_begin_.resize(static_cast<size_t>(E_local_) + 1);
  stats_.selected.resize(E);
  stats_.kept.resize(E);
}

void MoeLayer::route(const float* x, const float* router) {
  router_logits(x, router, logits_.data(), N_, D_, E_);
  parallel_for(N_, 64, [&](int64_t t0, int64_t t1, int) {
    std::vector<int> order(static_cast<size_t>(E_));
    for (int64_t t = t0; t < t1; ++t) {
      const float* lrow = logits_.data() + t * E_;
      float* prow = probs_.data() + t * E_;
      float mx = *std::max_element(lrow, lrow + E_);
      float sum = 0;
      for (int e = 0; e < E_; ++e) sum += (prow[e] = std::exp(lrow[e] - mx));
      for (int e = 0; e < E_; ++e) prow[e] /= sum;
      lse_[static_cast<size_t>(t)] = mx + std::log(sum);
      // top-k; ties go to the lower expert index so routing is deterministic
      for (int e = 0; e < E_; ++e) order[static_cast<size_t>(e)] = e;
      std::partial_sort(order.begin(), order.begin() + k_, order.end(),
                        [prow](int a, int b) { return prow[a] > prow[b] || (prow[a] == prow[b] && a < b); });
      float chosen = 0;
      for (int j = 0; j < k_; ++j) chosen += prow[order[static_cast<size_t>(j)]];
      chosen_sum_[static_cast<size_t>(t)] = chosen;
      for (int j = 0; j < k_; ++j) {
        size_t a = static_cast<size_t>(t) * k_ + j;
        choice_[a] = order[static_cast<size_t>(j)];
        weight_[a] = prow[choice_[a]] / chosen;
      }
    }
  });
  std::fill(counts_[0].begin(), counts_[0].end(), 0);
  for (int c : choice_) ++counts_[0][static_cast<size_t>(c)];
}

void MoeLayer::apply_capacity() {
  // Capacity per (source rank, expert), filled in token order: the decision is local, needs no communication,
  // and matches what each rank sends.
  int64_t capacity = std::numeric_limits<int64_t>::max();
  if (capacity_factor_ > 0)
    capacity = static_cast<int64_t>(std::ceil(capacity_factor_ * static_cast<double>(N_) * k_ / E_));
  std::fill(counts_[1].begin(), counts_[1].end(), 0);
  for (size_t a = 0; a < choice_.size(); ++a) {
    auto& kept = counts_[1][static_cast<size_t>(choice_[a])];
    send_pos_[a] = kept < capacity ? static_cast<int>(kept++) : -1;  // rank within its expert for now
  }
}

void MoeLayer::build_send_buffer(const float* x) {
  std::vector<int> expert_begin(static_cast<size_t>(E_) + 1, 0);
  for (int e = 0; e < E_; ++e) {
    send_rows_per_expert_[static_cast<size_t>(e)] = static_cast<int>(counts_[1][static_cast<size_t>(e)]);
    expert_begin[static_cast<size_t>(e) + 1] = expert_begin[static_cast<size_t>(e)] + send_rows_per_expert_[static_cast<size_t>(e)];
  }
  send_total_ = expert_begin[static_cast<size_t>(E_)];
  send_.resize(static_cast<size_t>(send_total_) * D_);
  for (size_t a = 0; a < choice_.size(); ++a)
    if (send_pos_[a] >= 0) send_pos_[a] += expert_begin[static_cast<size_t>(choice_[a])];
  parallel_rows(static_cast<int64_t>(choice_.size()), [&](int64_t a) {
    if (send_pos_[static_cast<size_t>(a)] < 0) return;
    const float* src = x + (a / k_) * D_;
    std::copy(src, src + D_, send_.data() + static_cast<size_t>(send_pos_[static_cast<size_t>(a)]) * D_);
  });
}

void MoeLayer::exchange_counts() {
  // Each destination rank gets, per local expert, how many rows are coming.
  MPI_Alltoall(send_rows_per_expert_.data(), E_local_, MPI_INT, recv_rows_.data(), E_local_, MPI_INT, comm_.ep());
  const int P = comm_.ep_size();
  int soff = 0, roff = 0;
  for (int p = 0; p < P; ++p) {
    int srows = 0, rrows = 0;
    for (int le = 0; le < E_local_; ++le) {
      srows += send_rows_per_expert_[static_cast<size_t>(p * E_local_ + le)];
      rrows += recv_rows_[static_cast<size_t>(p * E_local_ + le)];
    }
    send_counts_[static_cast<size_t>(p)] = srows * D_;
    send_displs_[static_cast<size_t>(p)] = soff;
    recv_counts_[static_cast<size_t>(p)] = rrows * D_;
    recv_displs_[static_cast<size_t>(p)] = roff;
    soff += srows * D_;
    roff += rrows * D_;
  }
  recv_total_ = roff / D_;
  // Received rows come as (source, local expert); experts want (local expert, source).
  expert_row_begin_[0] = 0;
  for (int le = 0; le < E_local_; ++le) {
    int rows = 0;
    for (int p = 0; p < P; ++p) rows += recv_rows_[static_cast<size_t>(p * E_local_ + le)];
    expert_row_begin_[static_cast<size_t>(le) + 1] = expert_row_begin_[static_cast<size_t>(le)] + rows;
  }
  recv_to_expert_row_.resize(static_cast<size_t>(recv_total_));
  std::vector<int> next(expert_row_begin_.begin(), expert_row_begin_.end() - 1);
  int r = 0;
  for (int p = 0; p < P; ++p)
    for (int le = 0; le < E_local_; ++le)
      for (int i = 0; i < recv_rows_[static_cast<size_t>(p * E_local_ + le)]; ++i)
        recv_to_expert_row_[static_cast<size_t>(r++)] = next[static_cast<size_t>(le)]++;
}

// With one rank in the EP group the send order already is the expert order: the rows are used in place.
bool MoeLayer::local_only() const { return comm_.ep_size() == 1; }

void MoeLayer::start_to_experts(const float* send_order) {
  if (local_only()) return;
  recv_order_.resize(static_cast<size_t>(recv_total_) * D_);
  MPI_Ialltoallv(send_order, send_counts_.data(), send_displs_.data(), MPI_FLOAT, recv_order_.data(),
                 recv_counts_.data(), recv_displs_.data(), MPI_FLOAT, comm_.ep(), &transfer_);
}

const float* MoeLayer::finish_to_experts(const float* send_order, Floats& expert_order) {
  if (local_only()) return send_order;
  MPI_Wait(&transfer_, MPI_STATUS_IGNORE);
  expert_order.resize(static_cast<size_t>(recv_total_) * D_);
  parallel_rows(recv_total_, [&](int64_t r) {
    std::copy_n(recv_order_.data() + r * D_, D_,
                expert_order.data() + static_cast<size_t>(recv_to_expert_row_[static_cast<size_t>(r)]) * D_);
  });
  return expert_order.data();
}

void MoeLayer::start_from_experts(const float* expert_order, Floats& send_order) {
  if (local_only()) return;
  recv_order_.resize(static_cast<size_t>(recv_total_) * D_);
  parallel_rows(recv_total_, [&](int64_t r) {
    std::copy_n(expert_order + static_cast<size_t>(recv_to_expert_row_[static_cast<size_t>(r)]) * D_, D_,
                recv_order_.data() + r * D_);
  });
  send_order.resize(static_cast<size_t>(send_total_) * D_);
  MPI_Ialltoallv(recv_order_.data(), recv_counts_.data(), recv_displs_.data(), MPI_FLOAT, send_order.data(),
                 send_counts_.data(), send_displs_.data(), MPI_FLOAT, comm_.ep(), &transfer_);
}

const float* MoeLayer::finish_from_experts(const float* expert_order, const Floats& send_order) {
  if (local_only()) return expert_order;
  MPI_Wait(&transfer_, MPI_STATUS_IGNORE);
  return send_order.data();
}

// The expert FFN is row-local up to the weight gradients: one fork over all experts' rows (in expert order),
// each thread running, expert by expert, the whole FFN on its contiguous share of the rows.
void MoeLayer::for_expert_rows(const std::function<void(int, int, int)>& segment) const {
  parallel_for(recv_total_, kExpertRowsPerChunk, [&](int64_t r0, int64_t r1, int) {
    for (int le = 0; le < E_local_; ++le) {
      const int begin = std::max(static_cast<int>(r0), expert_row_begin_[static_cast<size_t>(le)]);
      const int end = std::min(static_cast<int>(r1), expert_row_begin_[static_cast<size_t>(le) + 1]);
      if (end > begin) segment(le, begin, end - begin);
    }
  });
}

void MoeLayer::experts_forward(const MoeWeights& w) {
  const size_t DF = static_cast<size_t>(D_) * F_;
  gate_.resize(static_cast<size_t>(recv_total_) * F_);
  up_.resize(gate_.size());
  act_.resize(gate_.size());
  expert_out_.resize(static_cast<size_t>(recv_total_) * D_);
  for_expert_rows([&](int le, int begin, int rows) {  // inside a fork: each call below runs on this thread
    const float* X = expert_rows_ + static_cast<size_t>(begin) * D_;
    float* G = gate_.data() + static_cast<size_t>(begin) * F_;
    float* U = up_.data() + static_cast<size_t>(begin) * F_;
    float* Act = act_.data() + static_cast<size_t>(begin) * F_;
    gemm_nn(rows, F_, D_, X, w.w1 + le * DF, G, 0.0f);
    gemm_nn(rows, F_, D_, X, w.w3 + le * DF, U, 0.0f);
    swiglu_forward(G, U, Act, static_cast<int64_t>(rows) * F_);
    gemm_nn(rows, D_, F_, Act, w.w2 + le * DF, expert_out_.data() + static_cast<size_t>(begin) * D_, 0.0f);
  });
}

MoeLayer::Losses MoeLayer::forward(const float* x, const MoeWeights& w, float* out, double global_tokens) {
  global_tokens_ = global_tokens;
  route(x, w.router);
  apply_capacity();
  // Global-batch balancing needs the routing counts of every data-parallel rank; reduce them while the
  // experts compute.
  std::copy(counts_[0].begin(), counts_[0].end(), reduced_counts_.begin());
  std::copy(counts_[1].begin(), counts_[1].end(), reduced_counts_.begin() + E_);
  MPI_Iallreduce(MPI_IN_PLACE, reduced_counts_.data(), 2 * E_, MPI_INT64_T, MPI_SUM, comm_.world(), &counts_request_);
  build_send_buffer(x);
  exchange_counts();
  start_to_experts(send_.data());
  expert_rows_ = finish_to_experts(send_.data(), expert_in_);
  experts_forward(w);
  start_from_experts(expert_out_.data(), returned_);
  const Losses losses = balancing_losses();  // while the expert outputs travel back
  returned_rows_ = finish_from_experts(expert_out_.data(), returned_);

  parallel_rows(N_, [&](int64_t t) {  // combine: each token's k slots in slot order
    float* o = out + t * D_;
    std::fill(o, o + D_, 0.0f);
    for (int j = 0; j < k_; ++j) {
      const size_t a = static_cast<size_t>(t) * k_ + j;
      if (send_pos_[a] < 0) continue;
      const float* y = returned_rows_ + static_cast<size_t>(send_pos_[a]) * D_;
      for (int i = 0; i < D_; ++i) o[i] += weight_[a] * y[i];
    }
  });
  return losses;
}

MoeLayer::Losses MoeLayer::balancing_losses() {
  MPI_Wait(&counts_request_, MPI_STATUS_IGNORE);
  stats_.dropped = 0;
  for (int e = 0; e < E_; ++e) {
    stats_.selected[static_cast<size_t>(e)] = reduced_counts_[static_cast<size_t>(e)];
    stats_.kept[static_cast<size_t>(e)] = reduced_counts_[static_cast<size_t>(E_ + e)];
    stats_.dropped += stats_.selected[static_cast<size_t>(e)] - stats_.kept[static_cast<size_t>(e)];
  }
  Losses losses;
  for (int e = 0; e < E_; ++e) {
    load_fraction_[static_cast<size_t>(e)] = static_cast<double>(stats_.selected[static_cast<size_t>(e)]) / (global_tokens_ * k_);
    double prob_sum = 0;
    for (int t = 0; t < N_; ++t) prob_sum += probs_[static_cast<size_t>(t) * E_ + e];
    losses.aux += aux_coef_ * E_ * load_fraction_[static_cast<size_t>(e)] * prob_sum / global_tokens_;
  }
  for (int t = 0; t < N_; ++t) losses.z += z_coef_ * static_cast<double>(lse_[static_cast<size_t>(t)]) * lse_[static_cast<size_t>(t)] / global_tokens_;
  return losses;
}

void MoeLayer::experts_backward(const MoeWeights& w, const MoeGrads& g, const float* dy, float* dx_rows) {
  const size_t DF = static_cast<size_t>(D_) * F_;
  for (auto& s : scratch_ff_) s.resize(static_cast<size_t>(recv_total_) * F_);
  float* dact = scratch_ff_[0].data();
  float* dgate = scratch_ff_[1].data();
  float* dup = scratch_ff_[2].data();
  for_expert_rows([&](int le, int begin, int rows) {  // inside a fork: each call below runs on this thread
    const size_t rD = static_cast<size_t>(begin) * D_, rF = static_cast<size_t>(begin) * F_;
    gemm_nt(rows, F_, D_, dy + rD, w.w2 + le * DF, dact + rF, 0.0f);
    swiglu_backward(dact + rF, gate_.data() + rF, up_.data() + rF, dgate + rF, dup + rF, static_cast<int64_t>(rows) * F_);
    gemm_nt(rows, D_, F_, dgate + rF, w.w1 + le * DF, dx_rows + rD, 0.0f);
    gemm_nt(rows, D_, F_, dup + rF, w.w3 + le * DF, dx_rows + rD, 1.0f);
  });
  // The weight gradients sum over each expert's rows: every expert's three under one fork.
  std::vector<Gemm> weight_grads;
  for (int le = 0; le < E_local_; ++le) {
    const int begin = expert_row_begin_[static_cast<size_t>(le)];
    const int rows = expert_row_begin_[static_cast<size_t>(le) + 1] - begin;
    const size_t rD = static_cast<size_t>(begin) * D_, rF = static_cast<size_t>(begin) * F_;
    weight_grads.push_back(gemm_tn_of(F_, D_, rows, act_.data() + rF, dy + rD, g.w2 + le * DF, 0.0f));
    weight_grads.push_back(gemm_tn_of(D_, F_, rows, expert_rows_ + rD, dgate + rF, g.w1 + le * DF, 0.0f));
    weight_grads.push_back(gemm_tn_of(D_, F_, rows, expert_rows_ + rD, dup + rF, g.w3 + le * DF, 0.0f));
  }
  gemm_batch(weight_grads);
}

void MoeLayer::router_backward(const float* x, const MoeWeights& w, float* dx, const MoeGrads& g) {
  // dL/dp from the top-k weights w_j = p_j / S:  (dw_j - sum_i dw_i w_i) / S; plus the aux loss
  // (f_e is a constant: counts carry no gradient); then softmax and z-loss back to the logits.
  auto& dprobs = scratch_dprobs_;
  dprobs.resize(probs_.size());
  parallel_rows(N_, [&](int64_t t) {
    float* dp = dprobs.data() + static_cast<size_t>(t) * E_;
    for (int e = 0; e < E_; ++e)
      dp[e] = static_cast<float>(aux_coef_ * E_ * load_fraction_[static_cast<size_t>(e)] / global_tokens_);
    const size_t a0 = static_cast<size_t>(t) * k_;
    float mix = 0;
    for (int j = 0; j < k_; ++j) mix += dweight_[a0 + j] * weight_[a0 + j];
    for (int j = 0; j < k_; ++j) dp[choice_[a0 + j]] += (dweight_[a0 + j] - mix) / chosen_sum_[static_cast<size_t>(t)];
    const float* p = probs_.data() + static_cast<size_t>(t) * E_;
    float dot = 0;
    for (int e = 0; e < E_; ++e) dot += p[e] * dp[e];
    const float zscale = static_cast<float>(2.0 * z_coef_ * lse_[static_cast<size_t>(t)] / global_tokens_);
    for (int e = 0; e < E_; ++e) dp[e] = p[e] * (dp[e] - dot) + zscale * p[e];  // now dlogits
  });
  gemm_batch({gemm_tn_of(D_, E_, N_, x, dprobs.data(), g.router, 0.0f),
              gemm_nt_of(N_, D_, E_, dprobs.data(), w.router, dx, 1.0f)});
}

void MoeLayer::backward(const float* dout, const float* x, const MoeWeights& w, float* dx, const MoeGrads& g) {
  scratch_send_.resize(send_.size());
  parallel_rows(static_cast<int64_t>(choice_.size()), [&](int64_t slot) {
    const size_t a = static_cast<size_t>(slot);
    dweight_[a] = 0;
    if (send_pos_[a] < 0) return;
    const float* d = dout + (a / static_cast<size_t>(k_)) * D_;
    const float* y = returned_rows_ + static_cast<size_t>(send_pos_[a]) * D_;
    float* ds = scratch_send_.data() + static_cast<size_t>(send_pos_[a]) * D_;
    for (int i = 0; i < D_; ++i) ds[i] = weight_[a] * d[i];
    dweight_[a] = dot_lanes(d, y, D_);
  });
  // The router's gradient needs only dweight_: compute it while the output gradients travel to the experts.
  start_to_experts(scratch_send_.data());
  router_backward(x, w, dx, g);
  const float* dy = finish_to_experts(scratch_send_.data(), scratch_dy_);
  scratch_rows_.resize(static_cast<size_t>(recv_total_) * D_);
  experts_backward(w, g, dy, scratch_rows_.data());
  start_from_experts(scratch_rows_.data(), scratch_back_);
  const float* back = finish_from_experts(scratch_rows_.data(), scratch_back_);
  parallel_rows(N_, [&](int64_t t) {
    float* d = dx + t * D_;
    for (int j = 0; j < k_; ++j) {
      const size_t a = static_cast<size_t>(t) * k_ + j;
      if (send_pos_[a] < 0) continue;
      const float* ds = back + static_cast<size_t>(send_pos_[a]) * D_;
      for (int i = 0; i < D_; ++i) d[i] += ds[i];
    }
  });
}

}  // namespace sigma::trainer
