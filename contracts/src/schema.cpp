#include "sigma/contracts/schema.hpp"

#include "sigma/contracts/env_names.hpp"
#include "sigma/contracts/ledger_event.hpp"
#include "sigma/contracts/preflight_level.hpp"
#include "sigma/contracts/verdicts.hpp"

namespace sigma {

nlohmann::json contracts_schema() {
  nlohmann::json levels = nlohmann::json::array();
  for (const auto level : {PreflightLevel::off, PreflightLevel::quick, PreflightLevel::standard,
                           PreflightLevel::extended}) {
    levels.push_back(level_name(level));
  }
  nlohmann::json verdicts = nlohmann::json::array();
  for (const auto verdict : {PrologVerdict::off, PrologVerdict::pass, PrologVerdict::cached, PrologVerdict::fail,
                             PrologVerdict::killed, PrologVerdict::error, PrologVerdict::over_cap,
                             PrologVerdict::none}) {
    verdicts.push_back(verdict_name(verdict));
  }
  nlohmann::json task_verdicts = nlohmann::json::array();
  for (const auto verdict : {TaskVerdict::off, TaskVerdict::pass, TaskVerdict::skip, TaskVerdict::fail}) {
    task_verdicts.push_back(task_verdict_name(verdict));
  }
  nlohmann::json components = nlohmann::json::array();
  for (const auto component : {Component::healthcheck, Component::spank, Component::launcher, Component::trainer,
                               Component::ckpt}) {
    components.push_back(component_name(component));
  }
  return {{"ledger_events", all_event_names()},
          {"ledger_components", components},
          {"preflight_levels", levels},
          {"prolog_verdicts", verdicts},
          {"task_verdicts", task_verdicts},
          {"environment",
           {env::kPreflightLevel, env::kPreflightVerdict, env::kRestartCount, env::kMaxRequeues, env::kSiteConfig,
            env::kLedger, env::kHeartbeatDir, env::kHeartbeatAttempt, env::kLivenessPort, env::kLivenessToken,
            env::kNodeName}}};
}

}  // namespace sigma
