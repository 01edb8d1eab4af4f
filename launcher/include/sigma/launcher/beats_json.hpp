// `sigma-launch beats --dir DIR`: a heartbeat directory as one JSON object, read with the contracts' heartbeat
// reader, so that scripts (the demo, the fault matrix, the client tests) parse JSON rather than scrape the files'
// text. Every rank's progress beat and liveness beat in rank order, whatever attempt wrote them, the straggler
// flags and the blame:
//   {"dir": DIR, "beats": [{"rank": 0, "step": 120, "time": ..., "node": "n1", "resumed_from": 100,
//                           "started_at": ..., "mpi_ready_at": ..., "ready_at": ..., "attempt": "4242.2"}, ...],
//    "liveness": [{"rank": 0, "time": ..., "node": "n1"}, ...], "stragglers": [{"rank": 1, "node": "n2"}],
//    "blame": {"rank": 1, "node": "n2"} or null}
// A missing or empty directory gives no beats; a file that is no well-formed beat is skipped with a warning on
// stderr (heartbeat.hpp).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace sigma::launch {

nlohmann::json heartbeats_json(const std::string& dir);

}  // namespace sigma::launch
