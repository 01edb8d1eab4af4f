// Wall-clock time as seconds since the epoch: what the ledger, heartbeats, caches and Prometheus record, and
// what processes on different nodes can compare.
#pragma once

namespace sigma {

double now_seconds();

}  // namespace sigma
