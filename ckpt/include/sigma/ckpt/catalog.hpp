// What a checkpoint directory holds, without MPI: listing, full verification and retention. Used by the
// sigma-ckpt tool and by rank 0 after a save.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sigma/core/exit_codes.hpp"

namespace sigma::ckpt {

struct StepEntry {
  int64_t step = 0;
  std::string path;             // <dir>/step_00001000
  uint64_t bytes = 0;           // all files in the step directory
};

// Committed steps under dir, oldest first (temporary and foreign entries are ignored).
std::vector<StepEntry> list_steps(const std::string& dir);

// The step that <dir>/latest names; nullopt when there is no latest file.
std::optional<int64_t> latest_step(const std::string& dir);

struct VerifyReport {
  ExitCode verdict = ExitCode::ok;  // ok, bad_data (corrupt) or not_found (missing file/dataset/manifest)
  std::vector<std::string> problems;  // one line each, naming file and dataset
};

// Reads every dataset of the step (in blocks, never whole) and checks the manifest's scalars against the
// directory, shapes, coverage of every tensor and the XXH3-64 checksums.
VerifyReport verify_step(const std::string& step_dir);

// Deletes committed steps except the newest keep_last that verify (with any newer ones that do not), every step
// divisible by keep_every (0: none), and the one latest names; when no step verifies, none is deleted. Returns
// the deleted paths. Also removes leftover temporary directories.
std::vector<std::string> prune_steps(const std::string& dir, int keep_last, int64_t keep_every);

std::string step_dir_name(int64_t step);
std::optional<int64_t> parse_step_name(const std::string& name);  // "step_00001000" -> 1000; nullopt otherwise

}  // namespace sigma::ckpt
