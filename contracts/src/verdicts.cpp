#include "sigma/contracts/verdicts.hpp"

#include <array>
#include <utility>

namespace sigma {
namespace {

constexpr std::array<std::pair<PrologVerdict, std::string_view>, 8> kPrologNames = {{
    {PrologVerdict::off, "off"},
    {PrologVerdict::pass, "pass"},
    {PrologVerdict::cached, "cached"},
    {PrologVerdict::fail, "fail"},
    {PrologVerdict::killed, "killed"},
    {PrologVerdict::error, "error"},
    {PrologVerdict::over_cap, "over_cap"},
    {PrologVerdict::none, "none"},
}};

constexpr std::array<std::pair<TaskVerdict, std::string_view>, 4> kTaskNames = {{
    {TaskVerdict::off, "off"},
    {TaskVerdict::pass, "pass"},
    {TaskVerdict::skip, "skip"},
    {TaskVerdict::fail, "fail"},
}};

constexpr std::string_view kFailedMark = "|fail:";

}  // namespace

std::string verdict_name(PrologVerdict verdict) {
  for (const auto& [value, name] : kPrologNames)
    if (value == verdict) return std::string(name);
  return "none";
}

std::optional<PrologVerdict> parse_prolog_verdict(std::string_view name) {
  for (const auto& [value, known] : kPrologNames)
    if (known == name) return value;
  return std::nullopt;
}

bool lets_job_start(PrologVerdict verdict) {
  return verdict == PrologVerdict::off || verdict == PrologVerdict::pass || verdict == PrologVerdict::cached;
}

bool is_node_fault(PrologVerdict verdict) { return verdict == PrologVerdict::fail || verdict == PrologVerdict::killed; }

std::string task_verdict_name(TaskVerdict verdict) {
  for (const auto& [value, name] : kTaskNames)
    if (value == verdict) return std::string(name);
  return "fail";
}

std::string task_verdict_text(const std::string& node, TaskVerdict verdict, const std::string& reason) {
  return node + "|" + task_verdict_name(verdict) + (verdict == TaskVerdict::fail ? ":" + reason : "");
}

bool task_verdict_failed(std::string_view text) { return text.find(kFailedMark) != std::string_view::npos; }

}  // namespace sigma
