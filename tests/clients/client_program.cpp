// A training program that knows sigma only through clients/include/sigma/client.hpp: it beats STEPS steps as
// rank RANK, blames its own node when asked, then waits for SIGUSR1/SIGTERM and exits 42 as a program that saved
// would. usage: client_program RANK STEPS [blame]
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "sigma/client.hpp"

int main(int argc, char** argv) {
  if (argc < 3) return sigma::client::kExitUsage;
  sigma::client::Client sigma(std::atoi(argv[1]));
  sigma.ready();
  const long steps = std::atol(argv[2]);
  for (long step = 1; step <= steps; ++step) sigma.beat(step);
  if (argc > 3 && std::string(argv[3]) == "blame") sigma.blame_this_rank();
  for (int waited = 0; waited < 600 && !sigma.should_stop(); ++waited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return sigma.should_stop() ? sigma::client::kExitRequeue : sigma::client::kExitHang;
}
