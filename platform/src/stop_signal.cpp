#include "sigma/platform/stop_signal.hpp"

#include <csignal>

namespace sigma {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void remember_stop_signal(int signal) { g_stop_signal = signal; }

}  // namespace

void install_stop_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = remember_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
}

bool stop_requested() { return g_stop_signal != 0; }

int stop_signal_number() { return g_stop_signal; }

void request_stop(int signal) { g_stop_signal = signal; }

void clear_stop_request() { g_stop_signal = 0; }

}  // namespace sigma
