// Checkpoint costs at the scenario's scale, from sigma's measured per-rank rates, and the checkpoint interval
// that Young and Daly's first-order models give.
#pragma once

#include "sigma/sim/scenario.hpp"

namespace sigma::sim {

// Seconds to write one checkpoint: each rank writes its shard, bounded by the shared filesystem.
double save_s(const Scenario& s);
// Seconds to load and verify the newest checkpoint at a restart.
double load_s(const Scenario& s);
// Training time lost to one save: the whole save when synchronous; the copy into host buffers when async.
double save_stall_s(const Scenario& s);
// Mean training time between interruptions of the job (all its accelerators, the scenario's rate).
double job_mtbf_s(const Scenario& s);
// The share of interruptions that restore from the newest file checkpoint: all of them, or with in-memory peer
// copies and in-allocation restarts only those that take a node and its partner's node (partner_loss_fraction of
// the classes that drain a node; spare exhaustions without shrink, which requeue, are left out).
double file_fallback_share(const Scenario& s);

// Daly's higher-order estimate of the optimum interval for a save costing `c` seconds and a mean time between
// failures `m` (Daly, FGCS 22(3), 2006); it tends to Young's sqrt(2 c m) (CACM 17(9), 1974) for c << m.
double daly_interval_s(double c, double m);

// The interval that minimises waste for the scenario, with M the mean time between file fallbacks (job MTBF over
// file_fallback_share). Synchronous saves: Daly's estimate. Asynchronous saves committed once durable lag by the
// write w: a fallback redoes t/2 + w on average, waste = c/t + (t/2 + w)/M, minimised at sqrt(2 c M). Committed
// only at the next save, they lag a whole interval: waste = c/t + 1.5 t/M, minimised at sqrt(2 c M / 3). An async
// interval is never shorter than one save, which must finish first.
double young_daly_interval_s(const Scenario& s);

// The interval the simulation uses: the scenario's, or Young/Daly's when it is 0.
double checkpoint_interval_s(const Scenario& s);

}  // namespace sigma::sim
