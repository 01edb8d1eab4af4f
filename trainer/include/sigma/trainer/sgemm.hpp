// One single-threaded float32 matmul, row-major: C[M,N] = alpha·op(A)·op(B) + beta·C, op = transpose where
// the flag is set (cblas_sgemm's arguments without the layout). The trainer's batches (gemm_batch) run
// through it.
//
// Where the CPU has AVX-512F (asked at run time, whatever the build's instruction set) and alpha = 1, beta = 0
// or 1, sigma's own kernel computes every element as one fused multiply-add chain over k in order:
//     c = (beta = 0 ? 0 : C[i,j]);  for k = 0 .. K-1:  c = fma(op(A)[i,k], op(B)[k,j], c)
// so an element's bits depend on its row of op(A) and column of op(B) alone: not on how a product is cut into
// calls or threads, nor on the blocking inside; C is not read when beta = 0. Each calling thread keeps 1.5 MiB
// of packing buffers. Elsewhere the call goes to OpenBLAS (its own order).
#pragma once

namespace sigma::trainer {

// True where sgemm() can run sigma's kernel (the CPU has AVX-512F).
bool own_sgemm_available();

void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc);

// OpenBLAS's cblas_sgemm with the same arguments (the peak measurement compares the two).
void openblas_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc);

}  // namespace sigma::trainer

// The same as a C function, for programs outside C++ (the model reference test loads it with ctypes from the
// shared library libsigma_trainer_sgemm.so).
extern "C" void sigma_trainer_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float* A,
                                    int lda, const float* B, int ldb, float beta, float* C, int ldc);
