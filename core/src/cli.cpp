#include "sigma/core/cli.hpp"

#include <boost/program_options/errors.hpp>
#include <fmt/format.h>

#include <cstdio>

#include "sigma/core/error.hpp"

namespace sigma {

namespace {

// Length of the valid UTF-8 sequence starting at text[i] (2-4 bytes, no overlong forms or surrogates), or 0.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  const std::size_t length = lead >= 0xf0 && lead <= 0xf4 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 && lead < 0xe0 ? 2 : 0;
  if (length == 0 || i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k)
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  const unsigned char second = byte(i + 1);
  if ((lead == 0xe0 && second < 0xa0) || (lead == 0xed && second >= 0xa0) || (lead == 0xf0 && second < 0x90) ||
      (lead == 0xf4 && second >= 0x90))
    return 0;
  return length;
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
    } else if (const std::size_t length = c >= 0x80 ? utf8_sequence_length(text, i) : 0; length > 0) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    }
  }
  return out;
}

int run_main(const std::string& program, const std::function<ExitCode()>& body) {
  try {
    return to_int(body());
  } catch (const HelpShown&) {
    return to_int(ExitCode::ok);
  } catch (const Error& e) {
    fmt::print(stderr, "{}: {}\n", program, printable(e.what()));
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
