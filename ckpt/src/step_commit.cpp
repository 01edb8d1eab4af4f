#include "step_commit.hpp"

#include <cerrno>
#include <climits>
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

// A failure's message travels to every rank; the bound keeps a runaway message from flooding the logs.
constexpr size_t kMaxMessage = 4096;

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

// What a failed save says on every rank: which step, that the committed ones stay, and the cause (naming the
// file); a full or over-quota filesystem is named as such, since it is the site's or the user's to fix.
std::string save_failure_message(int64_t step, const Error& cause) {
  const char* what = cause.sys_errno() == ENOSPC   ? "checkpoint filesystem full: "
                     : cause.sys_errno() == EDQUOT ? "checkpoint filesystem over quota: "
                                                   : "checkpoint: ";
  return fmt::format("{}the save of step {} failed, the committed steps are kept: {}", what, step, cause.what());
}

// agree_or_throw for a stage of the save of `step`: on failure rank 0 removes the temporary step (every rank is
// in this collective, so every shard file is closed) and every rank throws the failure as the save's.
void agree_on_save(MPI_Comm comm, const std::string& tmp_dir, int64_t step, const StageFailure& failure) {
  try {
    agree_or_throw(comm, failure);
  } catch (const Error& e) {
    std::error_code ignored;  // the save has failed already; what is left is removed by the next save or prune
    if (rank_of(comm) == 0) fs::remove_all(tmp_dir, ignored);
    throw Error(e.code(), save_failure_message(step, e), e.sys_errno());
  }
}

}  // namespace

StageFailure StageFailure::from(const std::exception& e) {
  StageFailure f{*e.what() != '\0' ? e.what() : "unexplained failure"};
  if (const auto* error = dynamic_cast<const Error*>(&e)) {
    f.code = error->code();
    f.sys_errno = error->sys_errno();
  } else if (const auto* fs_error = dynamic_cast<const fs::filesystem_error*>(&e)) {
    f.sys_errno = fs_error->code().value();
    f.code = exit_code_for_errno(f.sys_errno);
  }
  return f;
}

void agree_or_throw(MPI_Comm comm, const StageFailure& failure) {
  int mine = failure.message.empty() ? INT_MAX : rank_of(comm), first = INT_MAX;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == INT_MAX) return;
  std::string message = failure.message.substr(0, kMaxMessage);
  int numbers[3] = {to_int(failure.code), failure.sys_errno, static_cast<int>(message.size())};
  MPI_Bcast(numbers, 3, MPI_INT, first, comm);
  message.resize(static_cast<size_t>(numbers[2]));
  MPI_Bcast(message.data(), numbers[2], MPI_CHAR, first, comm);
  throw Error(static_cast<ExitCode>(numbers[0]), message, numbers[1]);
}

std::string prepare_step(MPI_Comm comm, const std::string& dir, int64_t step) {
  const std::string tmp = dir + "/.tmp_" + step_dir_name(step);
  StageFailure failure;
  if (rank_of(comm) == 0) {
    try {
      fs::create_directories(dir);
      fs::remove_all(tmp);
      fs::create_directory(tmp);
    } catch (const fs::filesystem_error& e) {
      failure = StageFailure::from(e);
      failure.message = fmt::format("{}: cannot create checkpoint directory: {}", tmp, e.what());
    }
  }
  agree_on_save(comm, tmp, step, failure);
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
                 const nlohmann::json& scalars, const nlohmann::json& rank_record, const StageFailure& failure) {
  agree_on_save(comm, tmp_dir, step, failure);
  auto records = gather_records(comm, rank_record);
  StageFailure commit_failure;
  if (rank_of(comm) == 0) {
    try {
      write_file_durably(tmp_dir + "/" + kManifestName, build_manifest(step, scalars, records).dump(1) + "\n");
      publish(dir, tmp_dir, dir + "/" + step_dir_name(step));
      write_file_durably(dir + "/latest", step_dir_name(step) + "\n");
    } catch (const std::exception& e) {  // e.g. `latest` is a directory: the environment's fault, with its code
      commit_failure = StageFailure::from(e);
      commit_failure.message = fmt::format("{}: commit failed: {}", dir, e.what());
    }
  }
  agree_on_save(comm, tmp_dir, step, commit_failure);
}

}  // namespace sigma::ckpt
