// Drives the checkpoint library from mpirun for the multi-process tests:
//   ckpt_fixture save  DIR STEP EP [SCALE] [async]   save the synthetic state of STEP
//   ckpt_fixture check DIR STEP EP [SCALE] [strict]  load the newest verified step; it must be STEP, bitwise
//   ckpt_fixture loop  DIR FIRST EP [SCALE]          save FIRST, FIRST+1, ... until killed; prints "saved N"
#include <mpi.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "sigma/contracts/env_names.hpp"
#include "sigma/ckpt/async_saver.hpp"
#include "sigma/ckpt/checkpoint.hpp"
#include "sigma/core/error.hpp"
#include "sigma/platform/mpi_process.hpp"
#include "sigma/platform/mpi_start.hpp"
#include "synthetic_state.hpp"

using namespace sigma::ckpt;

namespace {

int check(const std::string& dir, int64_t step, testing::SyntheticState& state, bool strict) {
  state.clear();
  LoadOptions options;
  options.strict = strict;
  if (const char* ledger = std::getenv(sigma::env::kLedger)) options.ledger_path = ledger;
  auto loaded = load_newest_checkpoint(MPI_COMM_WORLD, dir, state.view(), options);
  if (!loaded) { std::cerr << "no checkpoint\n"; return 5; }
  const int64_t bad = state.mismatches(step);
  if (loaded->step != step || bad != 0 || loaded->scalars.at("data_position") != step * 32) {
    std::cerr << "loaded step " << loaded->step << " (want " << step << "), " << bad << " values differ\n";
    return 1;
  }
  return 0;
}

int run(int argc, char** argv, int rank, int world) {
  if (argc < 5) { std::cerr << "usage: ckpt_fixture save|check|loop DIR STEP EP [SCALE] [async|strict]\n"; return 2; }
  const std::string command = argv[1], dir = argv[2], flag = argc > 6 ? argv[6] : "";
  const int64_t step = std::stoll(argv[3]);
  testing::Layout layout{rank, world, std::stoi(argv[4]), argc > 5 ? std::stoi(argv[5]) : 1};
  testing::SyntheticState state(layout);
  if (command == "check") return check(dir, step, state, flag == "strict");
  if (command == "save" && flag == "async") {
    state.fill(step);
    AsyncSaver saver(MPI_COMM_WORLD, dir);
    saver.start(step, state.view());
    state.clear();  // training goes on changing the state; the saved copy must not change
    saver.finish();
    return 0;
  }
  for (int64_t s = step;; ++s) {
    state.fill(s);
    save_checkpoint(MPI_COMM_WORLD, dir, s, state.view());
    if (rank == 0) { std::printf("saved %lld\n", static_cast<long long>(s)); std::fflush(stdout); }
    if (command != "loop") return 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  sigma::core::start_mpi(&argc, &argv);
  int rank = 0, world = 1, rc = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  try {
    rc = run(argc, argv, rank, world);
  } catch (const sigma::Error& e) {
    std::cerr << "ckpt_fixture: " << e.what() << "\n";
    rc = sigma::to_int(e.code());
  }
  MPI_Finalize();
  return rc;
}
