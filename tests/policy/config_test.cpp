// Site config validation: the shipped examples load, each bad file gets exactly its one-line message, and the
// limits on size, YAML nodes (aliases counted at each use) and taxonomy rules refuse a config quickly.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sigma/core/error.hpp"
#include "sigma/policy/site_config.hpp"

namespace fs = std::filesystem;
using namespace sigma;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct BadConfig {
  const char* file;
  const char* message;
};

// Each file under bad-configs/ and the exact message it must produce.
const BadConfig kBadConfigs[] = {
    {"01-empty.yaml",
     "01-empty.yaml:1:1: the file is empty (expected a mapping with at least cluster.name)"},
    {"02-syntax.yaml",
     "02-syntax.yaml:3:1: YAML syntax error: end of sequence flow not found"},
    {"03-not-a-map.yaml",
     "03-not-a-map.yaml:1:1: expected a mapping of keys, got a list"},
    {"04-missing-name.yaml",
     "04-missing-name.yaml:2:3: cluster.name: required field is missing (expected a non-empty string)"},
    {"05-unknown-top.yaml",
     "05-unknown-top.yaml:3:1: policyy: unknown key (did you mean \"policy\"?)"},
    {"06-unknown-nested.yaml",
     "06-unknown-nested.yaml:4:3: policy.max_restart: unknown key (did you mean \"max_restarts\"?)"},
    {"07-wrong-type-int.yaml",
     "07-wrong-type-int.yaml:4:17: policy.max_requeues: expected an integer, got \"lots\""},
    {"08-out-of-range.yaml",
     "08-out-of-range.yaml:4:17: policy.max_restarts: expected an integer in [0, 1000], got -1"},
    {"09-float-for-int.yaml",
     "09-float-for-int.yaml:3:16: cluster.spare_nodes: expected an integer, got \"1.5\""},
    {"10-bad-bool.yaml",
     "10-bad-bool.yaml:5:14: preflight.fault_injection.enabled: expected true or false, got \"maybe\""},
    {"11-unknown-check.yaml",
     "11-unknown-check.yaml:6:22: preflight.levels.quick.checks: expected one of gemm, membw, memtest, interconnect, cuda, got \"dgemm\""},
    {"12-unknown-level.yaml",
     "12-unknown-level.yaml:5:5: preflight.levels.fast: unknown key (expected one of extended, quick, standard)"},
    {"13-default-level.yaml",
     "13-default-level.yaml:4:18: preflight.default_level: expected one of quick, standard, extended, got \"turbo\""},
    {"14-relative-path.yaml",
     "14-relative-path.yaml:4:11: paths.ledger: expected an absolute path, got \"events.jsonl\""},
    {"15-backoff-order.yaml",
     "15-backoff-order.yaml:6:12: policy.backoff.max_s: expected a number >= initial_s (60), got 10"},
    {"16-bad-regex.yaml",
     "16-bad-regex.yaml:6:16: taxonomy.rules[0].pattern: expected an RE2 regular expression, linear-time: no backreferences or lookaround (missing ): Xid ()"},
    {"17-bad-class.yaml",
     "17-bad-class.yaml:7:14: taxonomy.rules[0].class: expected one of hardware, user, platform, transient, unknown, got \"cosmic\""},
    {"18-bad-signal.yaml",
     "18-bad-signal.yaml:6:16: taxonomy.rules[0].signals: expected a signal number 1-64 or a name such as SIGKILL, got \"SIGWHAT\""},
    {"19-duplicate-key.yaml",
     "19-duplicate-key.yaml:3:3: cluster.name: duplicate key"},
    {"20-section-not-map.yaml",
     "20-section-not-map.yaml:3:9: policy: expected a mapping of keys, got \"3\""},
    {"21-empty-checks.yaml",
     "21-empty-checks.yaml:6:15: preflight.levels.quick.checks: expected at least one check"},
    {"22-bad-fault-code.yaml",
     "22-bad-fault-code.yaml:9:19: taxonomy.rules[0].fault_code: expected 1-32 characters from A-Z a-z 0-9 _ -, got \"has spaces\""},
    {"23-rule-not-map.yaml",
     "23-rule-not-map.yaml:5:7: taxonomy.rules[0]: expected a rule mapping, got \"oops\""},
    {"24-nan.yaml",
     "24-nan.yaml:4:24: policy.heartbeat_timeout_s: expected a number, got \".nan\""},
    {"25-bitflip-rate.yaml",
     "25-bitflip-rate.yaml:5:24: preflight.fault_injection.gemm_bitflip_rate: expected a number in [0, 1], got 2"},
    // yaml-cpp's LoadAll yields empty documents for this forever (found by the fuzzer).
    {"26-endless-documents.yaml",
     "26-endless-documents.yaml:1:1: a second YAML document; expected one"},
    {"27-startup-timeout.yaml",
     "27-startup-timeout.yaml:4:22: policy.startup_timeout_s: expected a number in [1, 2592000], got 0"},
    {"28-liveness-timeout.yaml",
     "28-liveness-timeout.yaml:4:23: policy.liveness_timeout_s: expected at least 2 (two periods of the ranks' "
     "liveness beat, one every 1 s), got 1.5"},
    {"40-flap-window.yaml",
     "40-flap-window.yaml:4:28: preflight.recycle.flap_window_s: expected a number in [1, 2592000], got 0"},
};

}  // namespace

TEST(SiteConfig, ShippedExamplesLoad) {
  for (const char* name : {"example.yaml"}) {
    SiteConfig config = load_site_config(fs::path(SIGMA_SITE_CONFIGS) / name);
    EXPECT_FALSE(config.cluster.name.empty()) << name;
    EXPECT_EQ(config.preflight.levels.size(), 3u) << name;
  }
}

TEST(SiteConfig, ExampleValuesAreRead) {
  SiteConfig config = load_site_config(fs::path(SIGMA_SITE_CONFIGS) / "example.yaml");
  EXPECT_EQ(config.cluster.name, "moe-cluster");
  EXPECT_EQ(config.cluster.spare_nodes, 2);
  EXPECT_EQ(config.preflight.levels.at("extended").budget_s, 1800);
  EXPECT_EQ(config.policy.backoff.max_s, 300);
  EXPECT_EQ(config.policy.startup_timeout_s, 600);
  EXPECT_EQ(config.paths.metrics_dir, "/var/lib/prometheus/node-exporter");
  // The site rule comes first, then every default rule.
  ASSERT_GT(config.taxonomy.size(), default_taxonomy_rules().size());
  EXPECT_EQ(config.taxonomy.front().name, "site-lustre-eviction");
}

TEST(SiteConfig, MinimalConfigGetsDefaults) {
  SiteConfig config = parse_site_config("cluster: {name: c}\n", "min.yaml");
  SiteConfig defaults = default_site_config();
  EXPECT_EQ(config.policy.max_restarts, defaults.policy.max_restarts);
  EXPECT_FALSE(config.policy.exclude_stragglers);
  EXPECT_EQ(config.policy.startup_timeout_s, 600) << "start-up gets its own bound by default";
  EXPECT_EQ(config.policy.liveness_timeout_s, 3) << "three missed liveness beats";
  EXPECT_EQ(parse_site_config("cluster: {name: c}\npolicy: {liveness_timeout_s: 2}\n", "l.yaml").policy.liveness_timeout_s, 2);
  EXPECT_TRUE(parse_site_config("cluster: {name: c}\npolicy: {exclude_stragglers: true}\n", "s.yaml")
                  .policy.exclude_stragglers);
  EXPECT_EQ(config.preflight.default_level, "quick");
  EXPECT_EQ(config.preflight.recycle.flap_drains, 3);
  EXPECT_EQ(config.preflight.recycle.flap_window_s, 3600);
  const auto flaps = parse_site_config("cluster: {name: c}\npreflight: {recycle: {flap_drains: 5, flap_window_s: 600}}\n", "f.yaml");
  EXPECT_EQ(flaps.preflight.recycle.flap_drains, 5);
  EXPECT_EQ(flaps.preflight.recycle.flap_window_s, 600);
  EXPECT_EQ(config.preflight.levels.at("quick").checks, defaults.preflight.levels.at("quick").checks);
  EXPECT_EQ(config.taxonomy.size(), default_taxonomy_rules().size());
}

TEST(SiteConfig, PartialLevelKeepsOtherDefaults) {
  SiteConfig config = parse_site_config("cluster: {name: c}\npreflight: {levels: {quick: {budget_s: 12}}}\n", "p.yaml");
  EXPECT_EQ(config.preflight.levels.at("quick").budget_s, 12);
  EXPECT_EQ(config.preflight.levels.at("quick").checks, default_site_config().preflight.levels.at("quick").checks);
}

TEST(SiteConfig, EffectiveConfigReadsBackIdentically) {
  SiteConfig config = load_site_config(fs::path(SIGMA_SITE_CONFIGS) / "example.yaml");
  std::string printed = to_yaml(config);
  SiteConfig again = parse_site_config(printed, "printed.yaml");
  EXPECT_EQ(to_yaml(again), printed);
  EXPECT_EQ(again.taxonomy.size(), config.taxonomy.size());
}

// Keys sigma no longer uses load with any value, print nothing, and leave one warning each for sigma-config check.
TEST(SiteConfig, RetiredKeysAreIgnoredWithAWarning) {
  const SiteConfig config = parse_site_config(
      "cluster: {name: c}\npreflight:\n  gemm:\n    rel_tolerance: 1.0e-4\npolicy:\n  exclude_for_s: {any: thing}\n",
      "old.yaml");
  ASSERT_EQ(config.warnings.size(), 2u);
  EXPECT_EQ(config.warnings[0], "old.yaml:4:20: preflight.gemm.rel_tolerance: ignored: the gemm check multiplies "
                                "exact integer operands and verifies every product exactly, so no tolerance applies");
  EXPECT_EQ(config.warnings[1], "old.yaml:6:18: policy.exclude_for_s: ignored: sigma has no timed exclusion; a "
                                "drained node stays drained until nhc's recycle or an admin resumes it");
  const std::string printed = to_yaml(config);
  EXPECT_EQ(printed.find("rel_tolerance"), std::string::npos);
  EXPECT_EQ(printed.find("exclude_for_s"), std::string::npos);
  EXPECT_TRUE(parse_site_config(printed, "printed.yaml").warnings.empty());
  EXPECT_TRUE(parse_site_config("cluster: {name: c}\n", "new.yaml").warnings.empty());
}

TEST(SiteConfig, MissingFileIsNotFound) {
  try {
    load_site_config("/nonexistent/site.yaml");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::not_found);
    EXPECT_STREQ(e.what(), "/nonexistent/site.yaml: cannot open site config: No such file or directory");
  }
}

TEST(SiteConfig, EachBadFileGetsItsOneLineMessage) {
  size_t files_on_disk = 0;
  for (const auto& entry : fs::directory_iterator(SIGMA_BAD_CONFIGS)) files_on_disk += entry.is_regular_file();
  ASSERT_EQ(files_on_disk, std::size(kBadConfigs)) << "every file in bad-configs/ needs an expected message";
  for (const auto& bad : kBadConfigs) {
    std::string text = read_file(fs::path(SIGMA_BAD_CONFIGS) / bad.file);
    try {
      parse_site_config(text, bad.file);
      ADD_FAILURE() << bad.file << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::config) << bad.file;
      EXPECT_EQ(std::string(e.what()), bad.message) << bad.file;
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << bad.file << ": message must be one line";
    }
  }
}

namespace {

// The error a config text gets, and how long parsing took to say so.
std::string refusal_of(const std::string& text, double& seconds) {
  const auto start = std::chrono::steady_clock::now();
  std::string message = "accepted";
  try {
    parse_site_config(text, "site.yaml");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::config) << e.what();
    message = e.what();
  }
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return message;
}

std::string with_rules(const std::string& rules) { return "cluster: {name: c}\ntaxonomy:\n  rules:\n" + rules; }

std::string numbered_rules(std::size_t count) {
  std::string rules;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string n = std::to_string(i);
    rules += "    - {name: r" + n + ", pattern: 'x" + n + "', class: user, action: fail}\n";
  }
  return rules;
}

}  // namespace

TEST(SiteConfig, TaxonomyRulesAreLimited) {
  double seconds = 0;
  EXPECT_EQ(refusal_of(with_rules(numbered_rules(kMaxTaxonomyRules)), seconds), "accepted");
  EXPECT_EQ(refusal_of(with_rules(numbered_rules(kMaxTaxonomyRules + 1)), seconds),
            "site.yaml:4:5: taxonomy.rules: 1001 rules, more than the limit of 1000");
  EXPECT_LT(seconds, 2);
}

TEST(SiteConfig, AliasesCannotBlowUpTheDocument) {
  // 1000 rules (the limit), each the same anchored rule whose exit_codes list is itself an alias of 256 codes:
  // a 10 KB file that a reader would see as over 250,000 nodes.
  std::string codes;
  for (int i = 0; i < 256; ++i) codes += std::to_string(i) + ",";
  codes.pop_back();
  std::string rules = "    - &r {name: r, exit_codes: &c [" + codes + "], class: user, action: fail}\n";
  for (std::size_t i = 1; i < kMaxTaxonomyRules; ++i) rules += "    - *r\n";
  double seconds = 0;
  EXPECT_EQ(refusal_of(with_rules(rules), seconds),
            "site.yaml: site config of more than 100000 YAML nodes, the limit (each use of an alias counts its "
            "anchor's nodes again)");
  EXPECT_LT(seconds, 2);
  // A few aliases that stay small are still fine.
  EXPECT_EQ(refusal_of(with_rules("    - &r {name: r, exit_codes: [1], class: user, action: fail}\n    - *r\n"),
                       seconds),
            "accepted");
}

TEST(SiteConfig, TheFileSizeIsLimited) {
  // 200,000 aliased rules: each "- *r" line is 9 bytes, the whole over the 1 MiB limit.
  std::string rules = "    - &r {name: r, pattern: 'x', class: user, action: fail}\n";
  for (int i = 0; i < 200'000; ++i) rules += "    - *r\n";
  double seconds = 0;
  const std::string text = with_rules(rules);
  EXPECT_EQ(refusal_of(text, seconds),
            fmt::format("site.yaml: site config of {} bytes, more than the limit of 1048576", text.size()));
  EXPECT_LT(seconds, 2);
  const std::string padded = "cluster: {name: c}\n" + std::string(kMaxSiteConfigBytes - 20, '#') + "\n";
  ASSERT_EQ(padded.size(), kMaxSiteConfigBytes);
  EXPECT_EQ(refusal_of(padded, seconds), "accepted");  // a comment-heavy file right at the limit
}
