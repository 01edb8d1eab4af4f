// sigma's matmul kernel (sgemm.hpp says what it computes). Its shape:
//
// - A tile is 14 rows by 32 columns of C: 28 of the 32 vector registers hold it while k runs; per k, two
//   vectors of B and fourteen broadcasts of A feed 28 fused multiply-adds (the FMA units, not the loads, limit).
// - Both operands are read packed, a block at a time: B in panels of 32 columns, k-major (each k's 32 floats
//   contiguous), zero past N; A in tiles of 14 rows that the tile reads through one pointer at fixed offsets
//   (read in place, fourteen row pointers and the loop's own exceed the general registers and spill). Blocks of
//   512 k, 512 columns and 280 rows keep both packed blocks in L2 while every tile runs over them. A transposed
//   B is packed 16 columns by 16 k at a time through a transpose in registers.
// - While a tile computes, it asks for what the next one reads first (the next B panel on a block's first row
//   of tiles, the next C tile) to be fetched into L2: in the trainer, operands arrive from L3 or memory.
// - A k block after the first continues each element's chain from the value stored in C, which is the same
//   float the register held: the blocking does not change a bit. C is never zero-filled for beta = 0.
// Measured against OpenBLAS in bench/README.md ("sigma-train speed").
#include "sigma/trainer/sgemm.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <utility>
#include <vector>

#include <cblas.h>
#include <immintrin.h>

namespace sigma::trainer {
namespace {

constexpr int kTileRows = 14;
static_assert(kTileRows <= 16, "a transposed A tile's rows are packed as one 16-float vector");
constexpr int kPanel = 32;  // columns per packed B panel: one tile's
constexpr int kDepthBlock = 512;
constexpr int kColumnBlock = 512;
constexpr int kRowBlock = 20 * kTileRows;
constexpr int kPackedRow = kDepthBlock + 16;  // an untransposed A tile's row pitch: not a multiple of 4 KiB, so
                                              // its rows fall in different L1 sets
constexpr int kPackedTile = kTileRows * kPackedRow;

// Where op(X)[row, k] lives: data + row·row_stride + k·k_stride.
struct Operand {
  const float* data;
  ptrdiff_t row_stride, k_stride;
  Operand at(ptrdiff_t row, ptrdiff_t k) const { return {data + row * row_stride + k * k_stride, row_stride, k_stride}; }
};

[[gnu::target("avx512f")]] inline __mmask16 lane_mask(int lanes) {
  return lanes >= 16 ? __mmask16(0xFFFF) : lanes <= 0 ? __mmask16(0) : __mmask16((1u << lanes) - 1);
}

[[gnu::target("avx512f")]] inline void prefetch_l2(const float* p) {
  _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T1);
}

// sum += A tile · B panel over k in [0, depth), one chain per element; with PREFETCH, the panel at `next_panel`
// is fetched into L2 alongside.
template <int ROWS, int A_ROW_STRIDE, int A_K_STRIDE, bool PREFETCH>
[[gnu::target("avx512f")]] inline void multiply_add(int depth, const float* a, const float* panel,
                                                    const float* next_panel, __m512 (&sum_left)[ROWS],
                                                    __m512 (&sum_right)[ROWS]) {
  for (int k = 0; k < depth; ++k) {
    if constexpr (PREFETCH) {
      prefetch_l2(next_panel + k * kPanel);
      prefetch_l2(next_panel + k * kPanel + 16);
    }
    const __m512 b_left = _mm512_loadu_ps(panel + k * kPanel);
    const __m512 b_right = _mm512_loadu_ps(panel + k * kPanel + 16);
    const float* a_k = a + k * A_K_STRIDE;
    for (int r = 0; r < ROWS; ++r) {
      const __m512 a_rk = _mm512_set1_ps(a_k[r * A_ROW_STRIDE]);
      sum_left[r] = _mm512_fmadd_ps(a_rk, b_left, sum_left[r]);
      sum_right[r] = _mm512_fmadd_ps(a_rk, b_right, sum_right[r]);
    }
  }
}

// C[0..ROWS, 0..cols) (= or +=) an A tile times one B panel over `depth` k (cols <= 32). The next tile's B panel
// (next_panel, or null where it is in L2 already) and C (next_c, or null) are fetched into L2 alongside.
template <int ROWS, int A_ROW_STRIDE, int A_K_STRIDE>
[[gnu::target("avx512f")]] void tile(int depth, const float* a, const float* panel, float* c, ptrdiff_t ldc, int cols,
                                     bool accumulate, const float* next_panel, const float* next_c) {
  const __mmask16 left = lane_mask(cols), right = lane_mask(cols - 16);
  __m512 sum_left[ROWS], sum_right[ROWS];
  for (int r = 0; r < ROWS; ++r) {
    sum_left[r] = accumulate ? _mm512_maskz_loadu_ps(left, c + r * ldc) : _mm512_setzero_ps();
    sum_right[r] = accumulate ? _mm512_maskz_loadu_ps(right, c + r * ldc + 16) : _mm512_setzero_ps();
  }
  if (next_c != nullptr)
    for (int r = 0; r < ROWS; ++r) {
      prefetch_l2(next_c + r * ldc);
      prefetch_l2(next_c + r * ldc + 16);
    }
  if (next_panel != nullptr)
    multiply_add<ROWS, A_ROW_STRIDE, A_K_STRIDE, true>(depth, a, panel, next_panel, sum_left, sum_right);
  else
    multiply_add<ROWS, A_ROW_STRIDE, A_K_STRIDE, false>(depth, a, panel, nullptr, sum_left, sum_right);
  for (int r = 0; r < ROWS; ++r) {
    _mm512_mask_storeu_ps(c + r * ldc, left, sum_left[r]);
    _mm512_mask_storeu_ps(c + r * ldc + 16, right, sum_right[r]);
  }
}

using TileFunction = void (*)(int, const float*, const float*, float*, ptrdiff_t, int, bool, const float*,
                              const float*);

template <int A_ROW_STRIDE, int A_K_STRIDE, size_t... R>
constexpr std::array<TileFunction, sizeof...(R)> tiles_by_rows(std::index_sequence<R...>) {
  return {&tile<static_cast<int>(R) + 1, A_ROW_STRIDE, A_K_STRIDE>...};
}
// [rows - 1]: A packed untransposed (rows kPackedRow apart) or transposed (each k's rows together).
constexpr auto kRowMajorTile = tiles_by_rows<kPackedRow, 1>(std::make_index_sequence<kTileRows>{});
constexpr auto kKMajorTile = tiles_by_rows<1, kTileRows>(std::make_index_sequence<kTileRows>{});

// rows[i][j] becomes rows[j][i].
[[gnu::target("avx512f")]] inline void transpose16(__m512 (&rows)[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {  // pairs of rows, 32-bit elements
    t[i] = _mm512_unpacklo_ps(rows[i], rows[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(rows[i], rows[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {  // 64-bit pairs
    const __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]), c = _mm512_castps_pd(t[i + 2]),
                  d = _mm512_castps_pd(t[i + 3]);
    rows[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    rows[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    rows[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    rows[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int i = 0; i < 16; i += 8)  // 128-bit lanes
    for (int j = 0; j < 4; ++j) {
      t[i + j] = _mm512_shuffle_f32x4(rows[i + j], rows[i + j + 4], 0x88);
      t[i + j + 4] = _mm512_shuffle_f32x4(rows[i + j], rows[i + j + 4], 0xdd);
    }
  for (int j = 0; j < 8; ++j) {  // 256-bit halves
    rows[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
    rows[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xdd);
  }
}

// op(B)[0..depth, 0..cols) into panels (panel p at out + p·depth·32), zero past cols.
[[gnu::target("avx512f")]] void pack_b_block(bool transposed, Operand b, int depth, int cols, float* out) {
  for (int j0 = 0; j0 < cols; j0 += kPanel) {
    const int width = std::min(kPanel, cols - j0);
    const __mmask16 left = lane_mask(width), right = lane_mask(width - 16);
    float* panel = out + static_cast<ptrdiff_t>(j0) * depth;
    if (!transposed) {  // each k's columns are contiguous
      for (int k = 0; k < depth; ++k) {
        const float* src = b.data + k * b.k_stride + j0;
        _mm512_storeu_ps(panel + k * kPanel, _mm512_maskz_loadu_ps(left, src));
        _mm512_storeu_ps(panel + k * kPanel + 16, _mm512_maskz_loadu_ps(right, src + 16));
      }
      continue;
    }
    // Each column is contiguous in k: 16 columns by 16 k at a time, transposed in registers.
    for (int half = 0; half < 2; ++half)
      for (int k0 = 0; k0 < depth; k0 += 16) {
        const __mmask16 ks = lane_mask(depth - k0);
        __m512 block[16];
        for (int j = 0; j < 16; ++j) {
          const int column = j0 + 16 * half + j;
          block[j] = column < cols ? _mm512_maskz_loadu_ps(ks, b.data + column * b.row_stride + k0)
                                   : _mm512_setzero_ps();
        }
        transpose16(block);
        for (int k = 0; k < std::min(16, depth - k0); ++k)
          _mm512_storeu_ps(panel + (k0 + k) * kPanel + 16 * half, block[k]);
      }
  }
}

// op(A)[0..rows, 0..depth) into tiles of kTileRows rows (tile t at out + t·kPackedTile): untransposed, each row
// copied kPackedRow apart; transposed, each k's row of stored A read once, each tile's floats copied together.
[[gnu::target("avx512f")]] void pack_a_block(bool transposed, Operand a, int rows, int depth, float* out) {
  if (!transposed) {
    for (int r = 0; r < rows; ++r)
      std::memcpy(out + (r / kTileRows) * kPackedTile + (r % kTileRows) * kPackedRow, a.data + r * a.row_stride,
                  sizeof(float) * static_cast<size_t>(depth));
    return;
  }
  for (int k = 0; k < depth; ++k) {
    const float* src = a.data + k * a.k_stride;
    for (int i0 = 0; i0 < rows; i0 += kTileRows) {
      const __mmask16 mask = lane_mask(std::min(kTileRows, rows - i0));
      _mm512_mask_storeu_ps(out + (i0 / kTileRows) * kPackedTile + k * kTileRows, mask,
                            _mm512_maskz_loadu_ps(mask, src + i0));
    }
  }
}

// C[0..rows, 0..cols) (= or +=) the packed A block times the packed B block, tile by tile.
[[gnu::target("avx512f")]] void multiply_blocks(bool transposed_a, const float* a, int rows, int depth,
                                                const float* b, int cols, float* c, int ldc, bool accumulate) {
  const auto& tiles = transposed_a ? kKMajorTile : kRowMajorTile;
  for (int i0 = 0; i0 < rows; i0 += kTileRows) {
    const TileFunction tile_of_rows = tiles[static_cast<size_t>(std::min(kTileRows, rows - i0) - 1)];
    const float* a_tile = a + (i0 / kTileRows) * kPackedTile;
    float* c_rows = c + static_cast<ptrdiff_t>(i0) * ldc;
    for (int j0 = 0; j0 < cols; j0 += kPanel) {
      const float* panel = b + static_cast<ptrdiff_t>(j0) * depth;
      const bool last_panel = j0 + kPanel >= cols;
      const float* next_panel = i0 == 0 && !last_panel ? panel + kPanel * depth : nullptr;  // then B is in L2
      const float* next_c = !last_panel ? c_rows + j0 + kPanel
                            : i0 + kTileRows < rows ? c_rows + kTileRows * static_cast<ptrdiff_t>(ldc) : nullptr;
      tile_of_rows(depth, a_tile, panel, c_rows + j0, ldc, std::min(kPanel, cols - j0), accumulate, next_panel,
                   next_c);
    }
  }
}

[[gnu::target("avx512f")]] void own_sgemm(bool trans_a, bool trans_b, int M, int N, int K, const float* A, int lda,
                                          const float* B, int ldb, float beta, float* C, int ldc) {
  thread_local std::vector<float> packed_b, packed_a;
  packed_b.resize(static_cast<size_t>(kDepthBlock) * kColumnBlock);
  packed_a.resize(static_cast<size_t>(kRowBlock / kTileRows) * kPackedTile);
  const Operand a = trans_a ? Operand{A, 1, lda} : Operand{A, lda, 1};
  const Operand b = trans_b ? Operand{B, ldb, 1} : Operand{B, 1, ldb};  // "row" = column of op(B)
  for (int j0 = 0; j0 < N; j0 += kColumnBlock) {
    const int cols = std::min(kColumnBlock, N - j0);
    for (int k0 = 0; k0 < K; k0 += kDepthBlock) {
      const int depth = std::min(kDepthBlock, K - k0);
      pack_b_block(trans_b, b.at(j0, k0), depth, cols, packed_b.data());
      for (int i0 = 0; i0 < M; i0 += kRowBlock) {
        const int rows = std::min(kRowBlock, M - i0);
        pack_a_block(trans_a, a.at(i0, k0), rows, depth, packed_a.data());
        multiply_blocks(trans_a, packed_a.data(), rows, depth, packed_b.data(), cols,
                        C + static_cast<ptrdiff_t>(i0) * ldc + j0, ldc, k0 > 0 || beta != 0.0f);
      }
    }
  }
}

}  // namespace

bool own_sgemm_available() {
  static const bool available = __builtin_cpu_supports("avx512f");
  return available;
}

void openblas_sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K,
              alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K > 0 && alpha == 1.0f && (beta == 0.0f || beta == 1.0f) && own_sgemm_available())
    own_sgemm(trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc);
  else
    openblas_sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace sigma::trainer

extern "C" void sigma_trainer_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float* A,
                                    int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  sigma::trainer::sgemm(trans_a != 0, trans_b != 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
