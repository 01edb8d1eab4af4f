// Save on SIGTERM/SIGUSR1: Slurm sends one before the time limit (--signal) or on preemption. The handler only
// sets a flag; the training loop asks at a step boundary, saves, and exits with ExitCode::requeue (42).
#pragma once

#include <mpi.h>

namespace sigma::ckpt {

// Installs the handler for SIGTERM and SIGUSR1 (idempotent).
void install_save_signal_handlers();

// This process received a save signal since installation.
bool save_signal_received();

// Collective: true on every rank when any rank received the signal (Slurm may signal ranks at different times).
bool save_signal_received_anywhere(MPI_Comm comm);

// For tests: clear the flag.
void reset_save_signal();

}  // namespace sigma::ckpt
