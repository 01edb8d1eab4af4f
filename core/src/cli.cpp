#include "sigma/core/cli.hpp"

#include <boost/program_options/errors.hpp>
#include <fmt/format.h>

#include <cstdio>

#include "sigma/core/error.hpp"

namespace sigma {

int run_main(const std::string& program, const std::function<ExitCode()>& body) {
  try {
    return to_int(body());
  } catch (const Error& e) {
    fmt::print(stderr, "{}: {}\n", program, e.what());
    return to_int(e.code());
  } catch (const boost::program_options::error& e) {
    fmt::print(stderr, "{}: {} (see --help)\n", program, e.what());
    return to_int(ExitCode::usage);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: internal error: {}\n", program, e.what());
    return to_int(ExitCode::internal);
  }
}

void usage_error(const std::string& message) { throw Error(ExitCode::usage, message + " (see --help)"); }

}  // namespace sigma
