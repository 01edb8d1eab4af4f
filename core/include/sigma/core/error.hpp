// A failure that carries its exit code and a one-line message ("file:line:col: what was expected").
// Binaries catch sigma::Error in main, print the message once, and exit with the code.
#pragma once

#include <stdexcept>
#include <string>

#include "sigma/core/exit_codes.hpp"

namespace sigma {

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

}  // namespace sigma
