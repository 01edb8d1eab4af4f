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

CommandLine parse_command_line(int argc, char** argv, const boost::program_options::options_description& options) {
  namespace po = boost::program_options;
  po::options_description hidden;
  hidden.add_options()("args", po::value<std::vector<std::string>>()->default_value({}, ""));
  po::options_description all;
  all.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add("args", -1);
  CommandLine line;
  po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), line.options);
  po::notify(line.options);
  line.args = line.options["args"].as<std::vector<std::string>>();
  return line;
}

void usage_error(const std::string& message) { throw Error(ExitCode::usage, message + " (see --help)"); }

}  // namespace sigma
