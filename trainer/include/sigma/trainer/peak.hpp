// The MFU denominator: the sgemm rate this rank actually reaches on its cores, measured in the same run.
#pragma once

namespace sigma::trainer {

// GFLOP/s of OpenBLAS sgemm at n x n x n (2n^3 flops per call), best of repeated calls over ~`seconds`.
double measure_sgemm_gflops(int n, double seconds);

}  // namespace sigma::trainer
