// The failure taxonomy: ordered rules that turn what a failed step left behind (exit code, signal, log lines)
// into a class and an action. The first rule that matches wins. Default rules ship in
// site-configs/taxonomy.yaml; a site's own rules in its config are tried first.
#pragma once

#include <optional>
#include <memory>
#include <string>
#include <vector>

namespace re2 {
class RE2;
}

namespace sigma {

enum class FailureClass { hardware, user, platform, transient, unknown };
enum class FailureAction { drain_requeue, restart, requeue, fail };

std::string_view to_string(FailureClass c);
std::string_view to_string(FailureAction a);
std::optional<FailureClass> failure_class_from(std::string_view name);
std::optional<FailureAction> failure_action_from(std::string_view name);

struct TaxonomyRule {
  std::string name;                 // e.g. "cuda-xid", "oom-killer"
  std::vector<int> exit_codes;      // empty = any
  std::vector<int> signals;         // empty = any
  std::string pattern;              // RE2 regex, case-insensitive, searched per log line; empty = any
  FailureClass failure_class = FailureClass::unknown;
  FailureAction action = FailureAction::fail;
  std::string fault_code;           // short code for node reasons and the ledger, e.g. "xid79"
};

// What a step left behind.
struct StepOutcome {
  int exit_code = 0;
  int signal = 0;                   // 0 = not killed by a signal
  std::string log;                  // stderr/log text, many lines
};

struct Verdict {
  std::string rule;                 // name of the rule that matched ("" = none: unknown/fail)
  FailureClass failure_class = FailureClass::unknown;
  FailureAction action = FailureAction::fail;
  std::string fault_code;
  std::string evidence;             // the log line that matched, trimmed; for a rule with exit codes and no
                                    // pattern, the last "sigma-NAME: ..." line that is not a warning (sigma's
                                    // programs say why they fail in one such line); "" otherwise
};

class Taxonomy {
 public:
  explicit Taxonomy(std::vector<TaxonomyRule> rules);  // throws sigma::Error(config) on a bad pattern
  Verdict classify(const StepOutcome& outcome) const;
  const std::vector<TaxonomyRule>& rules() const { return rules_; }

 private:
  std::vector<TaxonomyRule> rules_;
  std::vector<std::shared_ptr<const re2::RE2>> patterns_;  // null: the rule has no pattern
};

// Log patterns are RE2 expressions: matching takes time linear in the line, so no pattern can hang a
// classification (RE2 has no backreferences or lookaround; such a pattern is refused). Only the first
// kMaxLogLineBytes of a log line are searched.
inline constexpr std::size_t kMaxLogLineBytes = 64 * 1024;
// "" when `pattern` compiles, else why not.
std::string log_pattern_error(const std::string& pattern);

// The rules shipped in site-configs/taxonomy.yaml, compiled in so a binary works without the file.
std::vector<TaxonomyRule> default_taxonomy_rules();

}  // namespace sigma
