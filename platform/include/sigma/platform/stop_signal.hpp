// The stop request every long-running sigma program honours: SIGTERM (Slurm before the time limit, scancel, a
// supervisor) and SIGUSR1 (sbatch --signal, a supervisor leaving a node) only record that a stop was asked for;
// the program stops at its next safe point (a step boundary: save, exit 42; a poll: forward to the step).
// Install the handlers first thing in main, before MPI_Init, so a stop during start-up is kept, not fatal.
#pragma once

namespace sigma {

// Installs the SIGTERM and SIGUSR1 handlers (SA_RESTART: blocking I/O and MPI calls continue). Idempotent.
void install_stop_signal_handlers();

// A stop signal arrived (or request_stop was called) since installation or the last clear_stop_request().
bool stop_requested();

// The number of the last stop signal (SIGTERM or SIGUSR1), 0 when none: a supervisor forwards the same one.
int stop_signal_number();

// A stop asked for by the program itself (and by tests), as if `signal` had arrived.
void request_stop(int signal);

// Forgets the request (a supervisor that forwarded it; tests).
void clear_stop_request();

}  // namespace sigma
