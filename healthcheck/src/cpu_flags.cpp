// CPU feature flags as the kernel reports them, so a check runs only where the hardware has the instructions.
#include <fstream>
#include <sstream>
#include <string>

#include "sigma/healthcheck/bf16_gemm.hpp"

namespace sigma::hc {

bool cpu_has_flag(const std::string& flag) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::string word;
    while (words >> word) {
      if (word == flag) return true;
    }
    return false;  // every core lists the same flags; the first line is enough
  }
  return false;
}

}  // namespace sigma::hc
