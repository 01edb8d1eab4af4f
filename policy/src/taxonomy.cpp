#include "sigma/policy/taxonomy.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "sigma/core/error.hpp"

#include <re2/re2.h>

namespace sigma {
namespace {

constexpr std::array<std::pair<FailureClass, std::string_view>, 5> kClassNames{{
    {FailureClass::hardware, "hardware"},
    {FailureClass::user, "user"},
    {FailureClass::platform, "platform"},
    {FailureClass::transient, "transient"},
    {FailureClass::unknown, "unknown"},
}};

constexpr std::array<std::pair<FailureAction, std::string_view>, 4> kActionNames{{
    {FailureAction::drain_requeue, "drain_requeue"},
    {FailureAction::restart, "restart"},
    {FailureAction::requeue, "requeue"},
    {FailureAction::fail, "fail"},
}};

template <class Enum, size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& table, Enum value) {
  for (const auto& [e, name] : table) {
    if (e == value) return name;
  }
  return "?";
}

template <class Enum, size_t N>
std::optional<Enum> value_of(const std::array<std::pair<Enum, std::string_view>, N>& table, std::string_view name) {
  for (const auto& [e, n] : table) {
    if (n == name) return e;
  }
  return std::nullopt;
}

bool matches_any(const std::vector<int>& allowed, int value) {
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

std::string trimmed(std::string line) {
  const char* space = " \t\r\n";
  line.erase(0, line.find_first_not_of(space));
  line.erase(line.find_last_not_of(space) + 1);
  constexpr size_t kMaxEvidence = 200;
  if (line.size() > kMaxEvidence) line = line.substr(0, kMaxEvidence);
  return line;
}

RE2::Options pattern_options() {
  RE2::Options options;
  options.set_case_sensitive(false);
  options.set_log_errors(false);  // the error is reported once, by the caller, naming the rule
  return options;
}

// The first log line that matches (searched up to kMaxLogLineBytes), or nullopt.
std::optional<std::string> find_line(const RE2& pattern, std::string_view log) {
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string_view::npos) end = log.size();
    const std::string_view line = log.substr(start, std::min(end - start, kMaxLogLineBytes));
    if (RE2::PartialMatch(line, pattern)) return trimmed(std::string(line));
    start = end + 1;
  }
  return std::nullopt;
}

// "sigma-NAME: ..." but not "sigma-NAME: warning: ...": the line a sigma program ends a failure with.
bool is_sigma_error_line(std::string_view line) {
  line.remove_prefix(std::min(line.find_first_not_of(" \t"), line.size()));
  constexpr std::string_view kPrefix = "sigma-";
  const std::size_t colon = line.find(": ");
  if (!line.starts_with(kPrefix) || colon == std::string_view::npos || colon == kPrefix.size()) return false;
  const std::string_view name = line.substr(kPrefix.size(), colon - kPrefix.size());
  if (!std::all_of(name.begin(), name.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '-'; })) return false;
  return !line.substr(colon + 2).starts_with("warning:");
}

// The last line of the log a sigma program wrote to say why it failed, or "".
std::string last_sigma_error_line(std::string_view log) {
  std::string_view last;
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string_view::npos) end = log.size();
    const std::string_view line = log.substr(start, std::min(end - start, kMaxLogLineBytes));
    if (is_sigma_error_line(line)) last = line;
    start = end + 1;
  }
  return last.empty() ? "" : trimmed(std::string(last));
}

}  // namespace

std::string log_pattern_error(const std::string& pattern) {
  const RE2 compiled(pattern, pattern_options());
  return compiled.ok() ? "" : compiled.error();
}

std::string_view to_string(FailureClass c) { return name_of(kClassNames, c); }
std::string_view to_string(FailureAction a) { return name_of(kActionNames, a); }
std::optional<FailureClass> failure_class_from(std::string_view name) { return value_of(kClassNames, name); }
std::optional<FailureAction> failure_action_from(std::string_view name) { return value_of(kActionNames, name); }

Taxonomy::Taxonomy(std::vector<TaxonomyRule> rules) : rules_(std::move(rules)) {
  for (const auto& rule : rules_) {
    if (rule.pattern.empty()) {
      patterns_.emplace_back(nullptr);
      continue;
    }
    auto compiled = std::make_shared<const RE2>(rule.pattern, pattern_options());
    if (!compiled->ok()) {
      throw Error(ExitCode::config,
                  "taxonomy rule \"" + rule.name + "\": pattern is not a valid RE2 regex: " + compiled->error());
    }
    patterns_.push_back(std::move(compiled));
  }
}

Verdict Taxonomy::classify(const StepOutcome& outcome) const {
  for (size_t i = 0; i < rules_.size(); ++i) {
    const TaxonomyRule& rule = rules_[i];
    if (!matches_any(rule.exit_codes, outcome.exit_code) || !matches_any(rule.signals, outcome.signal)) continue;
    // A catch-all rule (no criteria) classifies failures only, never a clean exit.
    bool clean_exit = outcome.exit_code == 0 && outcome.signal == 0;
    if (rule.exit_codes.empty() && rule.signals.empty() && rule.pattern.empty() && clean_exit) continue;
    std::string evidence;
    if (patterns_[i]) {
      auto line = find_line(*patterns_[i], outcome.log);
      if (!line) continue;
      evidence = *line;
    } else if (!rule.exit_codes.empty()) {
      // A rule that trusts an exit code: sigma's programs say why in one line before they exit with it.
      evidence = last_sigma_error_line(outcome.log);
    }
    return Verdict{rule.name, rule.failure_class, rule.action, rule.fault_code, evidence};
  }
  return Verdict{};
}

}  // namespace sigma
