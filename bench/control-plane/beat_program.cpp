// A light supervised program for the control-plane bench: it speaks the supervision protocol through the C++
// client header alone (clients/include/sigma/client.hpp) and does no work, so what the bench times is sigma's
// control plane, not training. usage: sigma_bench_beat_program PERIOD_S
//
// Its rank is SLURM_PROCID. It beats at once (the client takes the first beat as ready_at, so a beat file says
// when its rank first beat), then every PERIOD_S, and exits 42 on SIGUSR1/SIGTERM as a program that saved would.
// Its steps run in lockstep with every other rank's, as collectives keep a real program's: the step is the number
// of periods since $BENCH_EPOCH (epoch seconds, the same for every rank), plus one.
// A hang on demand, as a rank hung in a step makes its peers wait in that step's collective: once the file
// $BENCH_HANG_DIR/hang-<attempt> (the attempt being SIGMA_HEARTBEAT_ATTEMPT) names rank R, rank R beats no more
// progress and every other rank beats the step in flight done, then no more; every client's liveness thread beats
// on. The supervisor's hang rule needs every rank's progress to stop, and blames the rank with the oldest step:
// R. The attempt in the name keeps the restarted step from hanging too.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "sigma/client.hpp"

namespace {

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

int main(int argc, char** argv) {
  const double period = argc == 2 ? std::atof(argv[1]) : 0;
  if (period <= 0 || period > 60) {
    std::fprintf(stderr, "usage: sigma_bench_beat_program PERIOD_S (expected a period from 0 to 60 seconds)\n");
    return sigma::client::kExitUsage;
  }
  const int rank = std::atoi(env_or_empty("SLURM_PROCID").c_str());
  sigma::client::Client sigma(rank);
  const std::string hang_dir = env_or_empty("BENCH_HANG_DIR");
  const std::string hang_file = hang_dir.empty() ? "" : hang_dir + "/hang-" + env_or_empty("SIGMA_HEARTBEAT_ATTEMPT");
  const double epoch = std::atof(env_or_empty("BENCH_EPOCH").c_str());
  const auto step_now = [&] {
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    return static_cast<long>((now - epoch) / period) + 1;
  };
  bool hung = false;
  // An hour at most: a bench that lost track of its job must not leave programs beating forever.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
  while (!sigma.should_stop() && std::chrono::steady_clock::now() < deadline) {
    int hung_rank = -1;
    if (!hung && !hang_file.empty() && std::ifstream(hang_file) >> hung_rank) {
      hung = true;
      if (hung_rank != rank) sigma.beat(step_now() + 1);  // the step in flight, done; then waiting for rank R
    }
    if (!hung) sigma.beat(step_now());
    std::this_thread::sleep_for(std::chrono::duration<double>(period));
  }
  return sigma.should_stop() ? sigma::client::kExitRequeue : sigma::client::kExitOk;
}
