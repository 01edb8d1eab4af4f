// A failure that carries its exit code and a one-line message ("file:line:col: what was expected").
// Binaries catch sigma::Error in main, print the message once, and exit with the code. A failure of a system call
// also keeps its errno (ledger events report it; the message already names it in words).
#pragma once

#include <stdexcept>
#include <string>

#include "sigma/core/exit_codes.hpp"

namespace sigma {

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message, int sys_errno = 0)
      : std::runtime_error(message), code_(code), sys_errno_(sys_errno) {}
  ExitCode code() const { return code_; }
  int sys_errno() const { return sys_errno_; }  // 0: not a failed system call

 private:
  ExitCode code_;
  int sys_errno_;
};

}  // namespace sigma
