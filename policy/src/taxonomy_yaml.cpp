#include "taxonomy_yaml.hpp"

#include <fmt/format.h>
#include <re2/re2.h>

#include <csignal>
#include <cstring>
#include <utility>

#include "sigma/core/exit_codes.hpp"

namespace sigma {
namespace {

constexpr std::pair<const char*, int> kSignals[] = {
    {"SIGHUP", SIGHUP}, {"SIGINT", SIGINT},   {"SIGQUIT", SIGQUIT}, {"SIGILL", SIGILL},   {"SIGABRT", SIGABRT},
    {"SIGBUS", SIGBUS}, {"SIGFPE", SIGFPE},   {"SIGKILL", SIGKILL}, {"SIGUSR1", SIGUSR1}, {"SIGSEGV", SIGSEGV},
    {"SIGUSR2", SIGUSR2}, {"SIGPIPE", SIGPIPE}, {"SIGALRM", SIGALRM}, {"SIGTERM", SIGTERM}, {"SIGXCPU", SIGXCPU},
};

bool is_number(const std::string& text) {
  return !text.empty() && text.size() < 10 && text.find_first_not_of("0123456789") == std::string::npos;
}

std::optional<int> exit_code_value(const std::string& text) {
  if (is_number(text)) {
    int value = std::stoi(text);
    if (value <= 255) return value;
    return std::nullopt;
  }
  if (auto info = exit_code_by_name(text)) return to_int(info->code);
  return std::nullopt;
}

std::optional<int> signal_value(const std::string& text) {
  if (is_number(text)) {
    int value = std::stoi(text);
    if (value >= 1 && value <= 64) return value;
    return std::nullopt;
  }
  for (const auto& [name, number] : kSignals) {
    if (text == name) return number;
  }
  return std::nullopt;
}

template <class Parse>
std::vector<int> read_codes(yaml::Section& rule, const std::string& key, Parse parse, const std::string& expected) {
  std::vector<std::string> items;
  rule.read(key, items, {});
  std::vector<int> values;
  for (const auto& item : items) {
    auto value = parse(item);
    if (!value) rule.fail_at(key, fmt::format("expected {}, got \"{}\"", expected, item));
    values.push_back(*value);
  }
  return values;
}

bool valid_fault_code(const std::string& code) {
  static const RE2 kFaultCode("[A-Za-z0-9_-]{1,32}");
  return RE2::FullMatch(code, kFaultCode);
}

TaxonomyRule read_rule(yaml::Section rule) {
  TaxonomyRule out;
  rule.read_required("name", out.name);
  out.exit_codes = read_codes(rule, "exit_codes", exit_code_value,
                              "an exit code 0-255 or a contract name such as node_hardware");
  out.signals = read_codes(rule, "signals", signal_value, "a signal number 1-64 or a name such as SIGKILL");
  rule.read("pattern", out.pattern);
  if (!out.pattern.empty()) {
    if (const auto error = log_pattern_error(out.pattern); !error.empty()) {
      rule.fail_at("pattern", fmt::format("expected an RE2 regular expression, linear-time: no backreferences or "
                                          "lookaround ({})", error));
    }
  }
  std::string class_name, action_name;
  rule.read_required("class", class_name);
  auto failure_class = failure_class_from(class_name);
  if (!failure_class) {
    rule.fail_at("class", "expected one of hardware, user, platform, transient, unknown, got \"" + class_name + "\"");
  }
  out.failure_class = *failure_class;
  rule.read_required("action", action_name);
  auto action = failure_action_from(action_name);
  if (!action) {
    rule.fail_at("action", "expected one of drain_requeue, restart, requeue, fail, got \"" + action_name + "\"");
  }
  out.action = *action;
  out.fault_code = out.name;
  rule.read("fault_code", out.fault_code);
  if (!valid_fault_code(out.fault_code)) {
    rule.fail_at("fault_code", "expected 1-32 characters from A-Z a-z 0-9 _ -, got \"" + out.fault_code + "\"");
  }
  rule.finish();
  return out;
}

}  // namespace

std::vector<TaxonomyRule> read_taxonomy_rules(yaml::Section& section, const std::string& key,
                                              std::size_t max_rules) {
  YAML::Node list = section.raw(key);
  std::vector<TaxonomyRule> rules;
  if (!list.IsDefined() || list.IsNull()) return rules;
  if (!list.IsSequence()) section.fail_at(key, "expected a list of rules, got " + yaml::describe(list));
  if (list.size() > max_rules) {
    section.fail_at(key, fmt::format("{} rules, more than the limit of {}", list.size(), max_rules));
  }
  size_t index = 0;
  for (const auto& item : list) {
    std::string path = fmt::format("{}[{}]", section.path_of(key), index++);
    if (!item.IsMap()) yaml::fail(section.file(), item.Mark(), path, "expected a rule mapping, got " + yaml::describe(item));
    rules.push_back(read_rule(yaml::Section(item, path, section.file(), item.Mark())));
  }
  return rules;
}

namespace {

std::vector<std::string> signal_names(const std::vector<int>& signals) {
  std::vector<std::string> names;
  for (int s : signals) {
    const char* abbrev = sigabbrev_np(s);
    names.push_back(abbrev ? std::string("SIG") + abbrev : std::to_string(s));
  }
  return names;
}

}  // namespace

void emit_taxonomy_rule(YAML::Emitter& out, const TaxonomyRule& rule) {
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << rule.name;
  if (!rule.exit_codes.empty()) out << YAML::Key << "exit_codes" << YAML::Value << YAML::Flow << rule.exit_codes;
  if (!rule.signals.empty()) {
    out << YAML::Key << "signals" << YAML::Value << YAML::Flow << signal_names(rule.signals);
  }
  if (!rule.pattern.empty()) out << YAML::Key << "pattern" << YAML::Value << YAML::SingleQuoted << rule.pattern;
  out << YAML::Key << "class" << YAML::Value << std::string(to_string(rule.failure_class));
  out << YAML::Key << "action" << YAML::Value << std::string(to_string(rule.action));
  out << YAML::Key << "fault_code" << YAML::Value << rule.fault_code;
  out << YAML::EndMap;
}

}  // namespace sigma
