// What every sigma binary does around its real work: turn failures into one line on stderr and an exit code
// from the contract. Usage:  int main(int argc, char** argv) { return sigma::run_main("sigma-x", [&] { ... }); }
#pragma once

#include <boost/program_options.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sigma/core/exit_codes.hpp"

namespace sigma {

// The one error style: a failure is a thrown sigma::Error (exit code + one line); a command line that asked for
// --help throws HelpShown once the help is printed, from however deep its parsing runs, and the program ends ok.
struct HelpShown {};

// Runs `body`; a sigma::Error prints "program: message" and returns its code; HelpShown returns ok; a bad
// command-line option (boost::program_options) returns usage; anything else returns internal.
int run_main(const std::string& program, const std::function<ExitCode()>& body);

// A command line of the form `program [options] ARGS...`: the parsed options and the positional words.
struct CommandLine {
  boost::program_options::variables_map options;
  std::vector<std::string> args;
};
CommandLine parse_command_line(int argc, char** argv, const boost::program_options::options_description& options);

// `text` safe to print on a terminal: control characters and bytes that are not valid UTF-8 become \xNN, so a
// file name, a config value or a ledger event cannot carry an escape sequence or forge a line of output.
std::string printable(std::string_view text);

// Throws sigma::Error(usage) "program: message (see --help)".
[[noreturn]] void usage_error(const std::string& message);

}  // namespace sigma
