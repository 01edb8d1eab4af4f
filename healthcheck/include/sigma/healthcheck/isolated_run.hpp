// Runs one check in a forked child so that a hang or crash in it (a wedged accelerator, a SIGBUS on bad memory)
// cannot take the healthcheck down: the parent kills the child at its budget and reports "timeout", or reports
// the signal that ended it.
#pragma once

#include <string>

#include "sigma/healthcheck/check.hpp"

namespace sigma::hc {

// Forks, runs `check` in the child (after fault injection's start hook), and returns its result. The parent never
// touches BLAS or MPI, so forking it is safe.
CheckResult run_isolated(const std::string& name, CheckFunction check, const CheckContext& ctx);

}  // namespace sigma::hc
