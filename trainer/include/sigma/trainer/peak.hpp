// MFU, both sides. Numerator: the training flops of the work a step did (dense layers for every token, expert
// FFNs only for the assignments that were kept; dropped ones did no work). Denominator: the best sgemm rate this
// rank reaches with all its threads, measured in the same run over the matmul sizes a step uses plus one large
// size, with each sgemm the machine has (sigma's own where it runs, and OpenBLAS's): the step's speed-up from
// sigma's kernel must not come from a weaker yardstick.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sigma/trainer/config.hpp"

namespace sigma::trainer {

struct GemmShape {
  int m = 0, n = 0, k = 0;
};

// The best measured rate and where it was reached.
struct PeakRate {
  double gflops = 0;
  GemmShape at;              // the size that gave it
  std::string sgemm;         // the sgemm that gave it: "sigma" or "OpenBLAS"
  int threads = 1;           // threads of the rank, all busy
  int shapes_tried = 0;
  int sgemms_tried = 1;
  std::vector<double> sigma_rates;     // GFLOP/s at each size, in the order measured (empty: sigma's kernel
  std::vector<double> openblas_rates;  // does not run on this CPU)
  std::string source() const;  // "OpenBLAS sgemm 2048x2048x2048, best of 7 sizes x 2 sgemms, 2 threads"
};

// The distinct (m, n, k) of the step's forward matmuls for `tokens` local tokens, then 2048^3.
std::vector<GemmShape> step_gemm_shapes(const ModelConfig& model, int tokens);
// C = A·B split over the rank's threads, timed at each shape for ~seconds_each (the last, large one for 3x as
// long) with sigma's sgemm (gemm_nn, where it runs) and with OpenBLAS's, in batches of calls of at least 10 ms;
// returns the best batch's rate.
PeakRate measure_peak(const std::vector<GemmShape>& shapes, double seconds_each);

// Training flops (MODEL.md, "MFU convention"): per token through the dense parts, and per kept expert assignment.
double dense_flops_per_token(const ModelConfig& model);
double expert_flops_per_assignment(const ModelConfig& model);
double flops_done(const ModelConfig& model, double tokens, int64_t kept_assignments);

}  // namespace sigma::trainer
