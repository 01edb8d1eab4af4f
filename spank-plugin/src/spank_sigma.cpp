// spank_sigma.so: the C ABI between Slurm's SPANK and sigma's logic (options.hpp, prolog.hpp, step_setup.hpp).
// Thin on purpose: every hook gathers what Slurm knows, calls one C++ function that never throws, and maps the
// answer to a SPANK return. No C++ exception crosses into Slurm (each hook also catches everything); every
// failure is one line through slurm_error. It runs inside srun/sbatch/salloc (options), slurmd (job prolog and
// epilog, as root) and slurmstepd (steps and tasks).
//
// plugstack.conf:  required /usr/lib/x86_64-linux-gnu/slurm-wlm/spank_sigma.so [config=PATH] [min_level=LEVEL]
#include <cstdint>  // slurm/spank.h uses uint32_t without including it
extern "C" {        // Slurm 22.05's headers declare C functions without a C++ guard
#include <slurm/slurm.h>
#include <slurm/spank.h>
}
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <exception>
#include <string>

#include "sigma/contracts/env_names.hpp"
#include "sigma/core/error.hpp"
#include "sigma/spank/job_verdict.hpp"
#include "sigma/spank/options.hpp"
#include "sigma/spank/prolog.hpp"
#include "sigma/spank/step_setup.hpp"

extern "C" {
extern const char plugin_name[] = "sigma";
extern const char plugin_type[] = "spank";
extern const unsigned int plugin_version = SLURM_VERSION_NUMBER;
extern const unsigned int spank_plugin_version = 1;
}

namespace {

using namespace sigma::spank;

enum OptionId { kPreflight = 1, kMaxRequeues = 2, kFresh = 3 };

// An optional-value option given without a value reaches the node as "" (steps) or "(null)" (job prolog).
bool no_value_on_node(const char* value, int remote) {
  return remote && (value == nullptr || *value == '\0' || std::strcmp(value, "(null)") == 0);
}

// The option callbacks validate where the user typed the value; a non-zero return fails the submission. On the
// node a refused value would silently drop the option, so there the logic validates it again instead.
// An srun inside a batch job inherits the job's options from its environment, where an optional-value option
// given without a value reads "(null)": that is the option without a value, not a bad level.
int check_option(int id, const char* value, int remote) {
  if (remote) return 0;
  try {
    if (id == kPreflight) parse_preflight_option(value && std::strcmp(value, "(null)") == 0 ? nullptr : value);
    if (id == kMaxRequeues) parse_max_requeues_option(value);
    return 0;
  } catch (const std::exception& e) {
    slurm_error("sigma: %s", e.what());
    return -1;
  }
}

struct spank_option kOptions[] = {
    {const_cast<char*>("sigma-preflight"), const_cast<char*>("[LEVEL]"),
     const_cast<char*>("burn in every node of the job before it starts: off, quick, standard or extended (no "
                       "LEVEL: the site's default); a bad node is drained and the job requeued elsewhere"),
     2, kPreflight, check_option},
    {const_cast<char*>("sigma-max-requeues"), const_cast<char*>("N"),
     const_cast<char*>("end the job as FAILED rather than requeue it more than N times (the site's "
                       "policy.max_requeues is the most)"),
     1, kMaxRequeues, check_option},
    {const_cast<char*>("sigma-fresh"), nullptr,
     const_cast<char*>("burn in even on nodes that passed recently (ignore the validated-node cache)"), 0, kFresh,
     check_option},
    SPANK_OPTIONS_TABLE_END};

// An option's value as it reached the node.
std::optional<std::string> option_value(spank_t sp, struct spank_option* option) {
  char* value = nullptr;
  if (spank_option_getopt(sp, option, &value) != ESPANK_SUCCESS) return std::nullopt;
  if (no_value_on_node(value, 1)) return std::string();
  return std::string(value);
}

// What the job asked for, unvalidated: the logic validates it again (values reach the node through Slurm).
RawOptions raw_options(spank_t sp) {
  return {option_value(sp, &kOptions[0]), option_value(sp, &kOptions[1]), option_value(sp, &kOptions[2]).has_value()};
}

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// The step's setup, computed once per step in slurmstepd (user_init, with the job user's privileges) and used
// by each task, which slurmstepd forks after it.
StepSetup g_step;

// Runs a hook body; anything thrown becomes one error line and a failing return.
template <typename Body>
int guarded(const char* hook, Body&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    slurm_error("sigma: %s: %s", hook, e.what());
  } catch (...) {
    slurm_error("sigma: %s: unexpected failure", hook);
  }
  return -1;
}

}  // namespace

extern "C" {

// A bad plugstack.conf argument is reported here (to the submitting user, or slurmd's log) but fails nothing:
// failing init in slurmstepd or a prolog would drain the node for the admin's typo. On the node it is handled
// like a broken site config (prolog.hpp, step_setup.hpp).
int slurm_spank_init(spank_t sp, int ac, char** av) {
  return guarded("init", [&] {
    if (spank_context() == S_CTX_SLURMD) return 0;  // slurmd itself only loads the stack
    try {
      parse_plugin_args(ac, av);
    } catch (const std::exception& e) {
      slurm_error("sigma: %s", e.what());
    }
    for (auto* option = kOptions; option->name != nullptr; ++option) {
      if (spank_option_register(sp, option) != ESPANK_SUCCESS) {
        slurm_error("sigma: cannot register --%s", option->name);
        return -1;
      }
    }
    return 0;
  });
}

int slurm_spank_job_prolog(spank_t sp, int ac, char** av) {
  return guarded("job prolog", [&] {
    PrologContext context;
    context.plugin_args = plugin_arg_list(ac, av);
    context.options = raw_options(sp);
    context.node = env_or_empty(sigma::env::kSlurmNodeName);  // the prolog's environment comes from slurmd
    context.job_id = env_or_empty(sigma::env::kSlurmJobId);
    context.slurm_conf = env_or_empty("SLURM_CONF");
    context.restart_count = static_cast<unsigned>(std::strtoul(env_or_empty("SLURM_JOB_RESTART_COUNT").c_str(), nullptr, 10));
    const PrologOutcome outcome = run_job_prolog(context);
    if (!outcome.message.empty()) slurm_error("%s", outcome.message.c_str());
    return outcome.allow ? 0 : -1;
  });
}

// Once per step in slurmstepd, before the tasks are forked (options are readable here, not earlier).
int slurm_spank_user_init(spank_t sp, int ac, char** av) {
  return guarded("step setup", [&] {
    StepContext context{plugin_arg_list(ac, av), raw_options(sp), env_or_empty(sigma::env::kSlurmNodeName), "", 0, false};
    std::uint32_t job_id = 0, step_id = 0, restarts = 0;
    spank_get_item(sp, S_JOB_ID, &job_id);
    spank_get_item(sp, S_JOB_STEPID, &step_id);
    spank_get_item(sp, S_SLURM_RESTART_COUNT, &restarts);
    context.job_id = std::to_string(job_id);
    context.restart_count = restarts;
    context.batch_step = step_id == SLURM_BATCH_SCRIPT;
    g_step = prepare_step(context);
    for (const auto& [name, value] : g_step.env) spank_setenv(sp, name.c_str(), value.c_str(), 1);
    return 0;  // a failing user_init fails the step as a node error; the tasks refuse instead (task_init)
  });
}

// In each task, just before the user's program: a refused step ends here with its reason on the task's stderr
// (the job's output file, or srun's terminal) and exit code 1, so the job ends FAILED without draining the node.
// A step that may run although sigma could not do its part here (a broken site config) says so once per node,
// in its first local task, so that the user sees it and not only slurmd's log.
int slurm_spank_task_init(spank_t sp, int, char**) {
  if (!spank_remote(sp)) return 0;
  if (!g_step.refusal.empty()) {
    std::fprintf(stderr, "%s\n", g_step.refusal.c_str());
    return -1;
  }
  int local_task = -1;
  if (!g_step.warning.empty() && spank_get_item(sp, S_TASK_ID, &local_task) == ESPANK_SUCCESS && local_task == 0) {
    std::fprintf(stderr, "%s\n", g_step.warning.c_str());
  }
  return 0;
}

// Removes the job's verdict record. Always succeeds: a failing epilog would drain the node for bookkeeping.
int slurm_spank_job_epilog(spank_t, int ac, char** av) {
  guarded("job epilog", [&] {
    const auto args = parse_plugin_args(ac, av);
    const std::string node = env_or_empty(sigma::env::kSlurmNodeName), job = env_or_empty(sigma::env::kSlurmJobId);
    if (!sigma::is_plain_name(node) || !sigma::is_plain_name(job)) return 0;
    const auto config = sigma::load_site_config_as_admin(args.config);
    sigma::StateDir state(config.paths.state_dir);
    remove_job_verdict(state, job, node);
    return 0;
  });
  return 0;
}

}  // extern "C"
