// sigma-ledger: read the event ledger (what happened to each node and job), or append an event from a script.
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>

#include "sigma/core/cli.hpp"
#include "sigma/core/error.hpp"
#include "sigma/contracts/ledger.hpp"
#include "sigma/contracts/schema.hpp"

namespace po = boost::program_options;
using namespace sigma;

namespace {

constexpr const char* kUsage = R"(usage:
  sigma-ledger show LEDGER [--host H] [--job J] [--event E] [--json]
  sigma-ledger append LEDGER --component C --event E [--detail KEY=VALUE]...
  sigma-ledger schema            the event names, levels, verdicts and SIGMA_* names, as JSON
exit codes: 0 ok, 2 usage, 3 not a regular file, 5 ledger not found)";

// A field that is missing or not a string (a forged line) reads as "".
std::string text_of(const nlohmann::json& event, const std::string& key) {
  const auto it = event.find(key);
  return it != event.end() && it->is_string() ? it->get<std::string>() : "";
}

// Anyone who can append to the ledger chooses these strings: a control character must not reach the terminal
// (an escape sequence, or a newline that forges a line of its own).
std::string field(const nlohmann::json& event, const char* key) { return printable(text_of(event, key)); }

bool keep(const nlohmann::json& event, const po::variables_map& vm) {
  for (const char* option : {"host", "job", "event"}) {
    if (!vm.count(option)) continue;
    const std::string key = std::string(option) == "job" ? "job_id" : option;
    if (text_of(event, key) != vm[option].as<std::string>()) return false;
  }
  return true;
}

ExitCode show(const std::string& path, const po::variables_map& vm) {
  LedgerContents contents = read_ledger(path);
  for (const auto& event : contents.events) {
    if (!keep(event, vm)) continue;
    if (vm.count("json")) {
      fmt::print("{}\n", event.dump());
      continue;
    }
    fmt::print("{:<27} {:<12} {:<8} {:<12} {:<20} {}\n", field(event, "time"), field(event, "host"),
               field(event, "job_id"), field(event, "component"), field(event, "event"),
               event.contains("details") ? printable(event["details"].dump()) : "{}");
  }
  for (const auto& bad : contents.bad_lines) fmt::print(stderr, "sigma-ledger: skipped {}\n", bad);
  if (contents.torn_tail) fmt::print(stderr, "sigma-ledger: {}: skipped a torn final line (a writer died mid-line)\n", path);
  return ExitCode::ok;
}

ExitCode append(const std::string& path, const po::variables_map& vm) {
  if (!vm.count("component") || !vm.count("event")) usage_error("append: --component and --event are required");
  Event event;
  event.component = vm["component"].as<std::string>();
  event.event = vm["event"].as<std::string>();
  for (const auto& pair : vm["detail"].as<std::vector<std::string>>()) {
    auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) usage_error(fmt::format("--detail \"{}\": expected KEY=VALUE", pair));
    event.details[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  append_event(path, event);
  return ExitCode::ok;
}

ExitCode run(int argc, char** argv) {
  po::options_description options("options");
  options.add_options()("help,h", "show usage")("json", "print events as JSON lines")(
      "host", po::value<std::string>(), "only events from this host")("job", po::value<std::string>(),
                                                                        "only events of this job id")(
      "event", po::value<std::string>(), "only events of this kind (show) / the event name (append)")(
      "component", po::value<std::string>(), "component name (append)")(
      "detail", po::value<std::vector<std::string>>()->default_value({}, ""), "KEY=VALUE detail (append)");
  CommandLine line = parse_command_line(argc, argv, options);
  const po::variables_map& vm = line.options;
  if (vm.count("help")) {
    fmt::print("{}\n\n{}", kUsage, fmt::streamed(options));
    return ExitCode::ok;
  }
  auto args = line.args;
  if (args.size() == 1 && args[0] == "schema") {
    fmt::print("{}\n", contracts_schema().dump(2));
    return ExitCode::ok;
  }
  if (args.size() != 2) usage_error("expected a command (show or append) and a LEDGER path");
  if (args[0] == "show") return show(args[1], vm);
  if (args[0] == "append") return append(args[1], vm);
  usage_error(fmt::format("unknown command \"{}\" (expected show or append)", args[0]));
}

}  // namespace

int main(int argc, char** argv) {
  return run_main("sigma-ledger", [&] { return run(argc, argv); });
}
