// Fault injection: makes a healthy node look bad so tests and the end-to-end matrix can prove detection.
// It is built only from the admin-owned site config (preflight.fault_injection); there is no command-line flag
// or environment variable that turns it on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>

#include "sigma/policy/site_config.hpp"

namespace sigma::hc {

class FaultInjector {
 public:
  explicit FaultInjector(const FaultInjectionConfig& config);

  // Called first thing in a check's child process: hangs or crashes it when the config names this check.
  void on_check_start(const std::string& check) const;

  // Flips one random bit in each element chosen with probability gemm_bitflip_rate; returns how many.
  template <typename T>
  std::size_t corrupt_gemm_output(std::span<T> c, std::mt19937_64& rng) const;

  // A measured duration as the slowed-down node would show it; sleeps the difference so wall time agrees.
  double slow_down(double measured_seconds) const;

  bool enabled() const { return config_.enabled; }

 private:
  FaultInjectionConfig config_;
};

// Flips bit `bit` of element `index` (bit 0 = least significant bit of the representation).
template <typename T>
void flip_bit(std::span<T> data, std::size_t index, unsigned bit);

}  // namespace sigma::hc
