#include "sigma/contracts/ledger.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "sigma/contracts/env_names.hpp"
#include "sigma/contracts/node_name.hpp"
#include "sigma/core/cli.hpp"
#include "sigma/core/durable_file.hpp"
#include "sigma/core/error.hpp"
#include "sigma/core/trusted_path.hpp"

namespace sigma {
namespace {

// A reader holds the whole ledger in memory; rotate it (logrotate) long before this.
constexpr std::size_t kMaxLedgerBytes = std::size_t{2} << 30;

std::string now_rfc3339() {
  auto now = std::chrono::system_clock::now();
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:06d}Z", date, static_cast<int>(micros % 1'000'000));
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

void fill_defaults(Event& e) {
  if (e.time.empty()) e.time = now_rfc3339();
  if (e.host.empty()) e.host = this_node_name();
  if (e.job_id.empty()) e.job_id = env_or(env::kSlurmJobId, "");
  if (e.step_id.empty()) e.step_id = env_or(env::kSlurmStepId, "");
}

std::string to_line(const Event& e) {
  nlohmann::json line = {{"time", e.time},     {"host", e.host},       {"job_id", e.job_id}, {"step", e.step_id},
                         {"component", e.component}, {"event", e.event}, {"details", e.details}};
  // replace: a non-UTF-8 byte in a log excerpt must not lose the whole event.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

void append_event(const std::string& ledger_path, Event event) {
  fill_defaults(event);
  const std::string line = to_line(event);
  try {
    append_file_durably(ledger_path, line);
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("{}: cannot append to the event ledger: {}", ledger_path, e.what()));
  }
}

LedgerWriter::LedgerWriter(std::string path, Component component, std::string program, Warn warn)
    : path_(std::move(path)), component_(component), program_(std::move(program)), warn_(std::move(warn)) {}

void LedgerWriter::record(LedgerEvent event, nlohmann::json details, const std::string& host,
                          const std::string& job_id) const {
  if (path_.empty()) return;
  Event line{component_name(component_), event_name(event), std::move(details), "", host, job_id, ""};
  try {
    append_event(path_, std::move(line));
  } catch (const std::exception& e) {
    const std::string warning = fmt::format("{}: warning: {}", program_, printable(e.what()));
    if (warn_) {
      warn_(warning);
    } else {
      fmt::print(stderr, "{}\n", warning);
    }
  }
}

LedgerContents read_ledger(const std::string& ledger_path) {
  const std::string text = read_regular_file(ledger_path, kMaxLedgerBytes, "event ledger");

  LedgerContents contents;
  size_t start = 0;
  size_t line_number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    ++line_number;
    if (end == std::string::npos) {  // no newline: the writer died mid-line
      contents.torn_tail = true;
      break;
    }
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      contents.bad_lines.push_back(fmt::format("{}:{}: not a JSON object", ledger_path, line_number));
      continue;
    }
    contents.events.push_back(std::move(parsed));
  }
  return contents;
}

}  // namespace sigma
