#include "sigma/ckpt/save_signal.hpp"

#include <csignal>

namespace sigma::ckpt {
namespace {
volatile std::sig_atomic_t g_save_requested = 0;
extern "C" void on_save_signal(int) { g_save_requested = 1; }
}  // namespace

void install_save_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_save_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking I/O and MPI calls continue; the loop checks the flag at step ends
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
}

bool save_signal_received() { return g_save_requested != 0; }

bool save_signal_received_anywhere(MPI_Comm comm) {
  int mine = save_signal_received() ? 1 : 0, any = 0;
  MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, comm);
  return any != 0;
}

void reset_save_signal() { g_save_requested = 0; }

}  // namespace sigma::ckpt
