// The blocked causal attention against the textbook one (the full T x T matrix in double): forward output and
// the three input gradients, with several query blocks and a partial last one, on 1 and 2 threads. And the
// exponential its softmax and SwiGLU use, against libm.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "sigma/trainer/kernels.hpp"
#include "sigma/trainer/parallel.hpp"

namespace sigma::trainer {
namespace {

constexpr int B = 2, T = 150, H = 2, hd = 8, D = H * hd;  // T = 64 + 64 + 22: three query blocks

struct Result {
  std::vector<double> out, dq, dk, dv;
};

std::vector<float> random_rows(unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(B) * T * D);
  for (float& f : x) f = normal(rng);
  return x;
}

// out = softmax(causal(scale q k^T)) v and its gradients for the upstream gradient dout, per (sequence, head).
Result reference(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                 const std::vector<float>& dout) {
  const size_t n = q.size();
  Result r{std::vector<double>(n), std::vector<double>(n), std::vector<double>(n), std::vector<double>(n)};
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  auto at = [](int b, int t, int h, int i) { return (static_cast<size_t>(b) * T + t) * D + h * hd + i; };
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h)
      for (int t = 0; t < T; ++t) {
        std::vector<double> p(static_cast<size_t>(t) + 1);
        double mx = -1e300, sum = 0;
        for (int j = 0; j <= t; ++j) {
          double s = 0;
          for (int i = 0; i < hd; ++i) s += static_cast<double>(q[at(b, t, h, i)]) * k[at(b, j, h, i)];
          p[static_cast<size_t>(j)] = s * scale;
          mx = std::max(mx, p[static_cast<size_t>(j)]);
        }
        for (double& x : p) sum += (x = std::exp(x - mx));
        for (double& x : p) x /= sum;
        std::vector<double> dp(p.size());
        double dot = 0;
        for (int j = 0; j <= t; ++j) {
          for (int i = 0; i < hd; ++i) {
            r.out[at(b, t, h, i)] += p[static_cast<size_t>(j)] * v[at(b, j, h, i)];
            dp[static_cast<size_t>(j)] += static_cast<double>(dout[at(b, t, h, i)]) * v[at(b, j, h, i)];
            r.dv[at(b, j, h, i)] += p[static_cast<size_t>(j)] * dout[at(b, t, h, i)];
          }
          dot += p[static_cast<size_t>(j)] * dp[static_cast<size_t>(j)];
        }
        for (int j = 0; j <= t; ++j) {
          const double ds = p[static_cast<size_t>(j)] * (dp[static_cast<size_t>(j)] - dot) * scale;
          for (int i = 0; i < hd; ++i) {
            r.dq[at(b, t, h, i)] += ds * k[at(b, j, h, i)];
            r.dk[at(b, j, h, i)] += ds * q[at(b, t, h, i)];
          }
        }
      }
  return r;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want, const char* what) {
  double worst = 0, largest = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    worst = std::max(worst, std::fabs(got[i] - want[i]));
    largest = std::max(largest, std::fabs(want[i]));
  }
  EXPECT_GT(largest, 0.1) << what;
  EXPECT_LT(worst, 1e-5 * std::max(1.0, largest)) << what;
}

TEST(Attention, BlockedCausalMatchesTheFullMatrix) {
  const auto q = random_rows(1), k = random_rows(2), v = random_rows(3), dout = random_rows(4);
  const Result want = reference(q, k, v, dout);
  std::vector<float> first_dq;
  for (int threads : {1, 2}) {
    set_compute_threads(threads);
    const size_t n = q.size();
    std::vector<float> lse(static_cast<size_t>(B) * H * T), out(n, -1.0f), dq(n, -1.0f), dk(n, -1.0f), dv(n, -1.0f);
    Floats scratch;
    attention_forward(q.data(), k.data(), v.data(), lse.data(), out.data(), scratch, B, T, H, hd);
    attention_backward(dout.data(), q.data(), k.data(), v.data(), lse.data(), dq.data(), dk.data(), dv.data(), scratch,
                       B, T, H, hd);
    SCOPED_TRACE(threads);
    expect_close(out, want.out, "out");
    expect_close(dq, want.dq, "dq");
    expect_close(dk, want.dk, "dk");
    expect_close(dv, want.dv, "dv");
    if (threads == 1) first_dq = dq;
    else EXPECT_EQ(std::memcmp(dq.data(), first_dq.data(), n * sizeof(float)), 0) << "pairs are computed alike on any thread";
  }
  set_compute_threads(1);
}

TEST(ExpFast, WithinTwoUlpOfLibmZeroOrInfinityOutsideTheNormalRange) {
  float worst = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.001f) {
    const double want = std::exp(static_cast<double>(x));
    worst = std::max(worst, static_cast<float>(std::fabs(exp_fast(x) - want) / want));
  }
  EXPECT_LT(worst, 2.5e-7f) << "relative error over [-87, 88] in steps of 0.001";
  EXPECT_EQ(exp_fast(0.0f), 1.0f);
  EXPECT_EQ(exp_fast(-87.5f), 0.0f) << "no denormals";
  EXPECT_EQ(exp_fast(-1000.0f), 0.0f);
  EXPECT_TRUE(std::isinf(exp_fast(88.5f)));
  EXPECT_TRUE(std::isnan(exp_fast(std::nanf(""))));
}

TEST(MaxLanes, EqualsTheSequentialMaximumWhereverItIs) {
  // Every length up to 100 (full groups of sixteen and every tail), the maximum in every position.
  for (int n = 1; n <= 100; ++n)
    for (int at = 0; at < n; ++at) {
      std::vector<float> a(static_cast<size_t>(n));
      for (int j = 0; j < n; ++j) a[static_cast<size_t>(j)] = -1.0f - 0.01f * static_cast<float>((j * 37) % 101);
      a[static_cast<size_t>(at)] = 0.5f;
      ASSERT_EQ(max_lanes(a.data(), n), 0.5f) << "n " << n << ", maximum at " << at;
    }
  const std::vector<float> negative = {-3.0f, -2.0f, -7.0f};
  EXPECT_EQ(max_lanes(negative.data(), 3), -2.0f);
}

}  // namespace
}  // namespace sigma::trainer
