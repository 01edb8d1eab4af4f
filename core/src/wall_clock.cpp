#include "sigma/core/wall_clock.hpp"

#include <chrono>

namespace sigma {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace sigma
