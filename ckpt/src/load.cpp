#include <algorithm>
#include <cstring>
#include <iostream>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <fmt/ranges.h>

#include "manifest.hpp"
#include "sigma/ckpt/catalog.hpp"
#include "sigma/ckpt/checkpoint.hpp"
#include "sigma/core/cli.hpp"
#include "sigma/core/error.hpp"
#include "sigma/contracts/ledger.hpp"
#include "step_commit.hpp"

namespace sigma::ckpt {
namespace {

// Fills the slice's rows from every piece that overlaps them (the pieces may come from any writer layout).
void fill_slice(const std::string& step_dir, const Manifest& m, TensorSlice& slice) {
  auto it = m.tensors.find(slice.name);
  if (it == m.tensors.end())
    throw Error(ExitCode::not_found, fmt::format("{}/{}: tensor {} is not in the checkpoint", step_dir, kManifestName,
                                                 slice.name));
  const TensorEntry& entry = it->second;
  if (entry.global_shape != slice.global_shape)
    throw Error(ExitCode::bad_data, fmt::format("{}/{}: tensor {}: shape {} differs from the model's {}", step_dir,
                                                kManifestName, slice.name, fmt::join(entry.global_shape, "x"),
                                                fmt::join(slice.global_shape, "x")));
  const int64_t row = row_elements(slice.global_shape);
  const int64_t want_begin = slice.offset0, want_end = slice.offset0 + slice.local_shape[0];
  for (const PieceRecord& p : entry.pieces) {
    const int64_t begin = std::max(want_begin, p.row_begin), end = std::min(want_end, p.row_end);
    if (begin >= end) continue;
    if (begin == p.row_begin && end == p.row_end) {
      read_piece_into(step_dir, p, slice.data + (begin - want_begin) * row);
      continue;
    }
    const std::vector<float> data = read_piece(step_dir, p);
    std::memcpy(slice.data + (begin - want_begin) * row, data.data() + (begin - p.row_begin) * row,
                static_cast<size_t>((end - begin) * row) * sizeof(float));
  }
}

std::vector<int64_t> broadcast_steps(MPI_Comm comm, const std::string& dir) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  std::vector<int64_t> steps;
  if (rank == 0)
    for (const StepEntry& e : list_steps(dir)) steps.push_back(e.step);
  int n = static_cast<int>(steps.size());
  MPI_Bcast(&n, 1, MPI_INT, 0, comm);
  steps.resize(static_cast<size_t>(n));
  MPI_Bcast(steps.data(), n, MPI_INT64_T, 0, comm);
  return steps;
}

void record_rejection(const LoadOptions& options, const std::string& step_dir, const std::string& problem) {
  std::cerr << "sigma-ckpt: rejected " << printable(step_dir) << ": " << printable(problem) << "\n";
  LedgerWriter(options.ledger_path, Component::ckpt, "sigma-ckpt")
      .record(LedgerEvent::ckpt_rejected, {{"step_dir", step_dir}, {"problem", problem}});
}

LoadResult load_step(MPI_Comm comm, const std::string& step_dir, TrainingStateView& state,
                     const LoadOptions& options) {
  StageFailure failure;
  LoadResult result;
  try {
    const Manifest m = read_manifest(step_dir);
    if (options.accept_scalars) options.accept_scalars(m.scalars);
    for (TensorSlice& slice : state.tensors) fill_slice(step_dir, m, slice);
    result = LoadResult{m.step, step_dir, m.scalars};
  } catch (const Error& e) {
    failure = StageFailure::from(e);
  } catch (const std::exception& e) {
    failure = {fmt::format("{}: {}", step_dir, e.what()), ExitCode::bad_data};
  }
  agree_or_throw(comm, failure);
  return result;
}

}  // namespace

LoadResult load_checkpoint_step(MPI_Comm comm, const std::string& step_dir, TrainingStateView& state) {
  return load_step(comm, step_dir, state, LoadOptions{});
}

std::optional<LoadResult> load_newest_checkpoint(MPI_Comm comm, const std::string& dir, TrainingStateView& state,
                                                 const LoadOptions& options) {
  const std::vector<int64_t> steps = broadcast_steps(comm, dir);
  if (steps.empty()) return std::nullopt;
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    const std::string step_dir = dir + "/" + step_dir_name(*it);
    try {
      return load_step(comm, step_dir, state, options);
    } catch (const Error& e) {
      record_rejection(options, step_dir, e.what());
      if (options.strict) throw;
    }
  }
  throw Error(ExitCode::bad_data, fmt::format("{}: none of the {} checkpoint steps verifies", dir, steps.size()));
}

}  // namespace sigma::ckpt
