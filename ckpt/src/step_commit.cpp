#include "step_commit.hpp"

#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "durable_fs.hpp"
#include "manifest.hpp"
#include "pieces.hpp"
#include "shard_io.hpp"
#include "sigma/ckpt/catalog.hpp"
#include "sigma/core/error.hpp"

namespace fs = std::filesystem;

namespace sigma::ckpt {
namespace {

int rank_of(MPI_Comm comm) { int r = 0; MPI_Comm_rank(comm, &r); return r; }
int size_of(MPI_Comm comm) { int n = 0; MPI_Comm_size(comm, &n); return n; }

std::vector<nlohmann::json> gather_records(MPI_Comm comm, const nlohmann::json& record) {
  const std::string mine = record.dump();
  int length = static_cast<int>(mine.size());
  const int n = size_of(comm), me = rank_of(comm);
  std::vector<int> lengths(n), offsets(n);
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, comm);
  std::string all;
  if (me == 0) {
    for (int r = 1; r < n; ++r) offsets[r] = offsets[r - 1] + lengths[r - 1];
    all.resize(static_cast<size_t>(offsets[n - 1] + lengths[n - 1]));
  }
  MPI_Gatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0, comm);
  std::vector<nlohmann::json> records;
  if (me == 0)
    for (int r = 0; r < n; ++r) records.push_back(nlohmann::json::parse(all.substr(offsets[r], lengths[r])));
  return records;
}

// Moves tmp into place as final; a step saved twice replaces the older copy.
void publish(const std::string& dir, const std::string& tmp, const std::string& final_dir) {
  fsync_path(tmp);
  if (fs::exists(final_dir)) {
    const std::string old = dir + "/.old_" + fs::path(final_dir).filename().string();
    fs::remove_all(old);
    fs::rename(final_dir, old);
    fs::rename(tmp, final_dir);
    fs::remove_all(old);
  } else {
    fs::rename(tmp, final_dir);
  }
  fsync_path(dir);
}

}  // namespace

void agree_or_throw(MPI_Comm comm, const std::string& failure, ExitCode code) {
  int ok = failure.empty() ? 1 : 0, all_ok = 0;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm);
  if (all_ok) return;
  throw Error(code, failure.empty() ? std::string("checkpoint: another rank failed (see its message)") : failure);
}

// Rank 0 does the filesystem work; every rank fails with the code it found.
ExitCode rank_zeros_code(MPI_Comm comm, ExitCode code) {
  int value = to_int(code);
  MPI_Bcast(&value, 1, MPI_INT, 0, comm);
  return static_cast<ExitCode>(value);
}

std::string prepare_step(MPI_Comm comm, const std::string& dir, int64_t step) {
  const std::string tmp = dir + "/.tmp_" + step_dir_name(step);
  std::string failure;
  ExitCode code = ExitCode::internal;
  if (rank_of(comm) == 0) {
    try {
      fs::create_directories(dir);
      fs::remove_all(tmp);
      fs::create_directory(tmp);
    } catch (const fs::filesystem_error& e) {
      failure = fmt::format("{}: cannot create checkpoint directory: {}", tmp, e.what());
      code = exit_code_for_errno(e.code().value());
    }
  }
  agree_or_throw(comm, failure, rank_zeros_code(comm, code));
  return tmp;
}

nlohmann::json write_rank_shard(const std::string& tmp_dir, const TrainingStateView& state, int rank) {
  std::vector<Piece> pieces = pieces_to_write(state, rank);
  write_shard(tmp_dir + "/" + shard_file_name(rank), pieces);
  nlohmann::json record = {{"pieces", nlohmann::json::array()}, {"layout", nlohmann::json::array()}};
  for (const Piece& p : pieces) record["pieces"].push_back(piece_to_json(p));
  for (const TensorSlice& s : state.tensors)
    record["layout"].push_back({{"name", s.name}, {"offset0", s.offset0}, {"rows", s.local_shape.at(0)},
                                {"replica_index", s.replica_index}, {"replica_count", s.replica_count}});
  return record;
}

void commit_step(MPI_Comm comm, const std::string& dir, int64_t step, const std::string& tmp_dir,
                 const nlohmann::json& scalars, const nlohmann::json& rank_record, const std::string& failure) {
  agree_or_throw(comm, failure, ExitCode::internal);
  auto records = gather_records(comm, rank_record);
  std::string commit_failure;
  ExitCode code = ExitCode::internal;
  if (rank_of(comm) == 0) {
    try {
      write_file_durably(tmp_dir + "/" + kManifestName, build_manifest(step, scalars, records).dump(1) + "\n");
      publish(dir, tmp_dir, dir + "/" + step_dir_name(step));
      write_file_durably(dir + "/latest", step_dir_name(step) + "\n");
    } catch (const Error& e) {  // e.g. `latest` is a directory: the environment's fault, with its code
      commit_failure = fmt::format("{}: commit of step {} failed: {}", dir, step, e.what());
      code = e.code();
    } catch (const std::exception& e) {
      commit_failure = fmt::format("{}: commit of step {} failed: {}", dir, step, e.what());
    }
  }
  agree_or_throw(comm, commit_failure, rank_zeros_code(comm, code));
}

}  // namespace sigma::ckpt
