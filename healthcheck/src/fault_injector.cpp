// Fault injection driven by preflight.fault_injection in the site config.
#include "sigma/healthcheck/fault_injector.hpp"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

namespace sigma::hc {

FaultInjector::FaultInjector(const FaultInjectionConfig& config) : config_(config) {}

void FaultInjector::on_check_start(const std::string& check) const {
  if (!config_.enabled) return;
  if (config_.crash_check == check) {
    std::signal(SIGSEGV, SIG_DFL);  // die the way a real fault would, even under a sanitizer's handler
    std::raise(SIGSEGV);
  }
  if (config_.hang_check == check) {
    for (;;) pause();  // only SIGKILL from the parent ends this, as with a wedged device
  }
}

template <typename T>
void flip_bit(std::span<T> data, std::size_t index, unsigned bit) {
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  Bits raw;
  std::memcpy(&raw, &data[index], sizeof raw);
  raw ^= Bits{1} << bit;
  std::memcpy(&data[index], &raw, sizeof raw);
}

template <typename T>
std::size_t FaultInjector::corrupt_gemm_output(std::span<T> c, std::mt19937_64& rng) const {
  if (!config_.enabled || config_.gemm_bitflip_rate <= 0 || c.empty()) return 0;
  // Draw the gaps between flipped elements instead of a coin per element: same distribution, O(flips) time.
  std::geometric_distribution<std::size_t> gap(config_.gemm_bitflip_rate);
  std::uniform_int_distribution<unsigned> pick_bit(0, sizeof(T) * 8 - 1);
  std::size_t flips = 0;
  for (std::size_t i = gap(rng); i < c.size(); i += 1 + gap(rng)) {
    flip_bit(c, i, pick_bit(rng));
    ++flips;
  }
  return flips;
}

double FaultInjector::slow_down(double measured_seconds) const {
  if (!config_.enabled || config_.slowdown <= 1.0) return measured_seconds;
  const double slowed = measured_seconds * config_.slowdown;
  std::this_thread::sleep_for(std::chrono::duration<double>(slowed - measured_seconds));
  return slowed;
}

template void flip_bit<float>(std::span<float>, std::size_t, unsigned);
template void flip_bit<double>(std::span<double>, std::size_t, unsigned);
template std::size_t FaultInjector::corrupt_gemm_output<float>(std::span<float>, std::mt19937_64&) const;
template std::size_t FaultInjector::corrupt_gemm_output<double>(std::span<double>, std::mt19937_64&) const;

}  // namespace sigma::hc
