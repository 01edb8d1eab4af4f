// The option and plugstack.conf argument parsers: every bad value is refused with one line naming the option.
#include <gtest/gtest.h>

#include <string>

#include "sigma/core/error.hpp"
#include "sigma/spank/options.hpp"

using namespace sigma;
using namespace sigma::spank;

namespace {

std::string usage_message(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::usage);
    return e.what();
  }
  ADD_FAILURE() << "expected a usage error";
  return "";
}

SiteConfig site_with(int max_requeues, const std::string& default_level = "standard") {
  SiteConfig config = default_site_config();
  config.policy.max_requeues = max_requeues;
  config.preflight.default_level = default_level;
  return config;
}

}  // namespace

TEST(PreflightOption, AcceptsEveryLevelAndNoValue) {
  for (const char* level : {"off", "quick", "standard", "extended"})
    EXPECT_EQ(parse_preflight_option(level), parse_level(level));
  EXPECT_EQ(parse_preflight_option(nullptr), std::nullopt);
}

TEST(PreflightOption, RefusesBadValuesWithoutEchoingHostileOnes) {
  EXPECT_EQ(usage_message([] { parse_preflight_option("paranoid"); }),
            "--sigma-preflight: expected off, quick, standard or extended, got \"paranoid\"");
  EXPECT_NE(usage_message([] { parse_preflight_option(""); }).find("got \"\""), std::string::npos);
  EXPECT_NE(usage_message([] { parse_preflight_option("QUICK"); }).find("\"QUICK\""), std::string::npos);
  const std::string long_value(5000, 'q');
  EXPECT_NE(usage_message([&] { parse_preflight_option(long_value.c_str()); }).find("a 5000-character value"),
            std::string::npos);
  for (const char* hostile : {"quick\n", "qu\xc3\xaf" "ck", "quick;rm -rf /", "$(reboot)", "\x1b[31mquick"}) {
    const std::string message = usage_message([&] { parse_preflight_option(hostile); });
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_EQ(message.find('\x1b'), std::string::npos) << message;
  }
}

TEST(MaxRequeuesOption, AcceptsWholeNumbersInRange) {
  EXPECT_EQ(parse_max_requeues_option("0"), 0);
  EXPECT_EQ(parse_max_requeues_option("7"), 7);
  EXPECT_EQ(parse_max_requeues_option("1000"), 1000);
}

TEST(MaxRequeuesOption, RefusesEverythingElse) {
  for (const char* bad : {"", "-1", "1001", "99999999999999999999", "1e3", " 5", "5 ", "5x", "0x10", "+3"}) {
    EXPECT_NE(usage_message([&] { parse_max_requeues_option(bad); }).find("--sigma-max-requeues: expected a whole "
                                                                         "number from 0 to 1000"),
              std::string::npos)
        << bad;
  }
  usage_message([] { parse_max_requeues_option(nullptr); });
}

TEST(JobRequest, ValidatesWhatReachedTheNode) {
  const JobRequest ok = parse_job_request({std::string("extended"), std::string("2"), true});
  EXPECT_TRUE(ok.preflight);
  EXPECT_EQ(ok.preflight_level, PreflightLevel::extended);
  EXPECT_EQ(ok.max_requeues, 2);
  EXPECT_TRUE(ok.fresh);
  const JobRequest site_default = parse_job_request({std::string(), std::nullopt, false});
  EXPECT_TRUE(site_default.preflight);
  EXPECT_EQ(site_default.preflight_level, std::nullopt);
  EXPECT_FALSE(parse_job_request({}).preflight);
  usage_message([] { parse_job_request({std::string("bogus"), std::nullopt, false}); });
  usage_message([] { parse_job_request({std::nullopt, std::string("-4"), false}); });
}

TEST(PluginArgs, DefaultsAndOverrides) {
  EXPECT_EQ(parse_plugin_args(0, nullptr).config, "/etc/sigma/site.yaml");
  EXPECT_EQ(parse_plugin_args(0, nullptr).min_level, PreflightLevel::off);
  const char* args[] = {"config=/srv/sigma/site.yaml", "min_level=quick"};
  const PluginArgs parsed = parse_plugin_args(2, args);
  EXPECT_EQ(parsed.config, "/srv/sigma/site.yaml");
  EXPECT_EQ(parsed.min_level, PreflightLevel::quick);
}

TEST(PluginArgs, RefusesBadArgumentsAsConfigErrors) {
  for (const char* bad : {"config=relative.yaml", "config=", "min_level=max", "verbose", "config=/a\tb"}) {
    const char* args[] = {bad};
    try {
      parse_plugin_args(1, args);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::config);
      EXPECT_EQ(std::string(e.what()).rfind("plugstack.conf: sigma: ", 0), 0u) << e.what();
    }
  }
}

TEST(ResolveLevel, NoOptionIsOffUnlessTheSiteSetsAFloor) {
  const SiteConfig config = site_with(5, "standard");
  PluginArgs args;
  using L = PreflightLevel;
  const auto asked = [](std::optional<L> level) { return JobRequest{true, level, {}, false}; };
  EXPECT_EQ(resolve_level({}, args, config), L::off);
  EXPECT_EQ(resolve_level(asked(std::nullopt), args, config), L::standard);  // no value: site default
  EXPECT_EQ(resolve_level(asked(L::quick), args, config), L::quick);
  args.min_level = L::standard;
  EXPECT_EQ(resolve_level({}, args, config), L::standard);
  EXPECT_EQ(resolve_level(asked(L::off), args, config), L::standard);   // users cannot go below
  EXPECT_EQ(resolve_level(asked(L::extended), args, config), L::extended);
  EXPECT_TRUE(wants_preflight({}, {"min_level=standard"}));
  EXPECT_FALSE(wants_preflight(asked(L::off), {}));
  EXPECT_TRUE(wants_preflight(asked(std::nullopt), {}));
  EXPECT_FALSE(wants_preflight({}, {"config=/etc/sigma/site.yaml", "min_level=off"}));
  // A misspelt floor still means the site wants every job burned in: failing closed.
  EXPECT_TRUE(wants_preflight({}, {"min_level=Quick"}));
}

TEST(RequeueCap, TheUserCanOnlyLowerTheSitesCap) {
  const SiteConfig config = site_with(5);
  EXPECT_EQ(requeue_cap({}, config), 5);
  EXPECT_EQ(requeue_cap({false, {}, 2, false}, config), 2);
  EXPECT_EQ(requeue_cap({false, {}, 50, false}, config), 5);
}
