// memtest: pattern tests over a share of available memory, within the check's budget.
//  - walking ones / walking zeros over a window: catches stuck and coupled data bits;
//  - address-in-address and its complement: catches address-line faults (two addresses hitting one cell);
//  - seeded random words: catches pattern-sensitive cells; the seed regenerates the expected values.
#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "sigma/healthcheck/check.hpp"

namespace sigma::hc {
namespace {

using Clock = std::chrono::steady_clock;
using Word = std::uint64_t;
constexpr std::size_t kWalkingWindowBytes = 4u << 20;
constexpr double kShareOfBudget = 0.8;  // stop starting new passes after this share of the budget

// Keeps the compiler from assuming it knows what memory holds between the fill and the verify pass.
inline void clobber(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

std::size_t available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  std::size_t kib = 0;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

Word splitmix(Word x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Fills words with pattern(i) and counts the words that read back differently.
// A template, not std::function: the pattern is inlined into the loops, which run at memory speed.
template <typename Pattern>
std::size_t fill_and_verify(Word* words, std::size_t n, Pattern pattern) {
  for (std::size_t i = 0; i < n; ++i) words[i] = pattern(i);
  clobber(words);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad += words[i] != pattern(i);
  return bad;
}

struct Pass {
  std::string name;
  std::function<std::size_t(Word*, std::size_t)> run;
};

std::vector<Pass> passes(std::uint64_t seed) {
  std::vector<Pass> out;
  out.push_back({"walking", [](Word* w, std::size_t n) {
                   const std::size_t window = std::min(n, kWalkingWindowBytes / sizeof(Word));
                   std::size_t bad = 0;
                   for (unsigned bit = 0; bit < 64; ++bit) {
                     bad += fill_and_verify(w, window, [bit](std::size_t) { return Word{1} << bit; });
                     bad += fill_and_verify(w, window, [bit](std::size_t) { return ~(Word{1} << bit); });
                   }
                   return bad;
                 }});
  out.push_back({"address", [](Word* w, std::size_t n) {
                   const auto base = reinterpret_cast<std::uintptr_t>(w);
                   return fill_and_verify(w, n, [base](std::size_t i) { return Word{base + i * sizeof(Word)}; }) +
                          fill_and_verify(w, n, [base](std::size_t i) { return ~Word{base + i * sizeof(Word)}; });
                 }});
  for (int k = 0; k < 2; ++k) {
    const Word s = splitmix(seed + k);
    out.push_back({fmt::format("random{}", k), [s](Word* w, std::size_t n) {
                     return fill_and_verify(w, n, [s](std::size_t i) { return splitmix(s ^ i); });
                   }});
  }
  return out;
}

}  // namespace

CheckResult run_memtest_check(const CheckContext& ctx) {
  CheckResult result;
  result.name = "memtest";
  const auto& cfg = ctx.config->memtest;
  const std::size_t bytes = std::min(static_cast<std::size_t>(static_cast<double>(available_bytes()) * cfg.share),
                                     static_cast<std::size_t>(cfg.max_mib) << 20);
  const std::size_t n = bytes / sizeof(Word);
  if (n == 0) {
    result.status = CheckStatus::skip;
    result.reason = "memtest: skipped (share of available memory is 0)";
    return result;
  }
  std::unique_ptr<Word[]> words(new Word[n]);
  const auto start = Clock::now();
  const auto all = passes(std::random_device{}());
  std::size_t bad = 0, done = 0;
  for (const auto& pass : all) {
    if (std::chrono::duration<double>(Clock::now() - start).count() > ctx.budget_s * kShareOfBudget) break;
    bad += pass.run(words.get(), n);
    ++done;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.metrics["tested_mib"] = static_cast<double>(bytes >> 20);
  result.metrics["passes"] = static_cast<double>(done);
  result.metrics["bad_words"] = static_cast<double>(bad);
  result.metrics["gbs"] = 2.0 * static_cast<double>(bytes) * static_cast<double>(done) / seconds / 1e9;
  if (done < all.size()) {
    result.notes.push_back(fmt::format("memtest: {}/{} passes fit the budget", done, all.size()));
  }
  if (bad > 0) {
    result.status = CheckStatus::fail;
    result.reason = fmt::format("memtest {} bad words", bad);
  }
  return result;
}

}  // namespace sigma::hc
