#include "sigma/contracts/verdicts.hpp"

#include "name_table.hpp"

namespace sigma {
namespace {

constexpr NameTable<PrologVerdict, 8> kPrologNames = {{
    {PrologVerdict::off, "off"},
    {PrologVerdict::pass, "pass"},
    {PrologVerdict::cached, "cached"},
    {PrologVerdict::fail, "fail"},
    {PrologVerdict::killed, "killed"},
    {PrologVerdict::error, "error"},
    {PrologVerdict::over_cap, "over_cap"},
    {PrologVerdict::none, "none"},
}};

constexpr NameTable<TaskVerdict, 4> kTaskNames = {{
    {TaskVerdict::off, "off"},
    {TaskVerdict::pass, "pass"},
    {TaskVerdict::skip, "skip"},
    {TaskVerdict::fail, "fail"},
}};

constexpr std::string_view kFailedMark = "|fail:";

}  // namespace

std::string verdict_name(PrologVerdict verdict) { return name_in(kPrologNames, verdict); }

std::optional<PrologVerdict> parse_prolog_verdict(std::string_view name) { return value_in(kPrologNames, name); }

bool lets_job_start(PrologVerdict verdict) {
  return verdict == PrologVerdict::off || verdict == PrologVerdict::pass || verdict == PrologVerdict::cached;
}

bool is_node_fault(PrologVerdict verdict) { return verdict == PrologVerdict::fail || verdict == PrologVerdict::killed; }

std::string task_verdict_name(TaskVerdict verdict) { return name_in(kTaskNames, verdict); }

std::string task_verdict_text(const std::string& node, TaskVerdict verdict, const std::string& reason) {
  return node + "|" + task_verdict_name(verdict) + (verdict == TaskVerdict::fail ? ":" + reason : "");
}

bool task_verdict_failed(std::string_view text) { return text.find(kFailedMark) != std::string_view::npos; }

}  // namespace sigma
