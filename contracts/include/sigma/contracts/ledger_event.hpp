// Every event sigma writes to the event ledger, by the part that writes it. Readers (sigma-ledger, the demo's
// and the fault matrix's reports, an admin's jq) match on these names; `sigma-ledger schema` prints them, and a
// test (tests/contracts/script_names.py) checks that every event name a script matches on is one of them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sigma {

// The part that wrote an event (the ledger line's "component").
enum class Component { healthcheck, spank, launcher, trainer, ckpt };

// One list, written once: X(name) for each event. The enum and the name table both come from it.
#define SIGMA_LEDGER_EVENTS(X)                                                                                  \
  /* sigma-healthcheck: burn-in results and what it did to the node */                                          \
  X(preflight_pass) X(preflight_fail) X(throughput_not_judged) X(node_drained) X(node_drain_skipped)             \
  X(node_flapping) X(node_validating) X(node_recycle_failed) X(node_recycle_abandoned) X(node_resumed)           \
  /* the SPANK plugin's job prolog */                                                                           \
  X(job_prolog) X(preflight_killed) X(requeue_cap_reached) X(prolog_error)                                      \
  /* sigma-launch supervise */                                                                                  \
  X(supervise_started) X(step_started) X(step_failed) X(restart_blocked) X(recovered) X(node_excluded)           \
  X(straggler_leaving) X(straggler_kept) X(nodes_back) X(step_growing) X(grow_failed) X(supervise_ended)         \
  /* sigma-train's guardrails */                                                                                \
  X(fault_injected) X(step_rerun) X(fault_classified) X(batch_skipped) X(loss_spike) X(rolled_back)             \
  X(data_skipped) X(straggler_detected) X(straggler_cleared) X(replica_mismatch)                                \
  /* checkpoints */                                                                                             \
  X(ckpt_rejected) X(ckpt_save_failed)                                                                          \
  /* the sbatch templates, through `sigma-ledger append` */                                                     \
  X(supervisor_died)

#define SIGMA_EVENT_ENUMERATOR(name) name,
enum class LedgerEvent { SIGMA_LEDGER_EVENTS(SIGMA_EVENT_ENUMERATOR) };
#undef SIGMA_EVENT_ENUMERATOR

std::string event_name(LedgerEvent event);
std::optional<LedgerEvent> parse_event(std::string_view name);
std::vector<std::string> all_event_names();
std::string component_name(Component component);

}  // namespace sigma
