// In-memory copies of a training state, so that a restart after a single-node failure redoes at most a step or
// two instead of everything since the last file checkpoint. Every K steps each rank writes its whole state into
// its node's memory (a tmpfs such as /dev/shm) and sends it to a partner rank on another node, which keeps it in
// its node's memory too (copy_partners.hpp). The copies outlive the processes (a restart ends every rank of the
// step) but not the node: a node that dies takes its own copies with it, and the partners' serve instead.
//
// A restart restores from memory only when every rank finds, on the nodes of the new step, a copy of one step
// that holds its own share of the state and verifies (XXH3-64 over the whole copy, checked by the node that
// holds it and again by the rank that receives it); otherwise nothing is changed and the caller loads its newest
// file checkpoint. A copy is never loaded unverified. A rank's share is its own rank's copy, or at another world
// size (a job that shrank or grew) the copy of a rank with the same layout (the same tensors, local shapes and
// offsets: a data-parallel replica of the same experts), all of one step and one world size.
//
// Copies live in ROOT/sigma-mem-<uid>/<run key>/<node>/{own,mirror}-r<rank>.<slot>: ROOT/sigma-mem-<uid> is
// created 0700 and used only when it is this user's own directory (not a link, not writable by others); the run
// key names the job and the checkpoint directory, so only this run's copies are ever read. Each rank keeps two
// slots, own and mirrored, rewritten in turn (copy_file.hpp), so a take interrupted halfway leaves the step before
// it whole: about 4x its state in its node's memory. Every method is collective over the communicator.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sigma/contracts/tensor_state.hpp"

namespace sigma::ckpt {

class CopyFile;

struct MemoryCopyOptions {
  std::string root;     // node-local memory directory (default /dev/shm); empty: no copies
  std::string run_key;  // names this run among others in ROOT (memory_run_key)
  std::string node;     // this rank's node (this_node_name(), contracts/node_name.hpp); the copies of a node live apart from the others'
};

// "job-<SLURM_JOB_ID>-<hash of the absolute checkpoint directory>" ("run-<hash>" outside a Slurm job).
std::string memory_run_key(const std::string& checkpoint_dir);

struct MemoryRestore {
  int64_t step = 0;
  nlohmann::json scalars;
  int world = 0;  // the world size the copies were taken at (another one: resharded)
};

class MemoryCopies {
 public:
  MemoryCopies(MPI_Comm comm, MemoryCopyOptions options);  // learns every rank's node and its partner
  ~MemoryCopies();
  MemoryCopies(const MemoryCopies&) = delete;
  MemoryCopies& operator=(const MemoryCopies&) = delete;

  bool enabled() const { return enabled_; }

  // Copies state as `step` into this node's memory and into the partner's. A copy that cannot be kept (the
  // memory directory full, refused) turns the copies off on every rank with one warning: training goes on.
  void take(int64_t step, const TrainingStateView& state);

  // Fills state from the newest step not older than `min_step` of which every rank's share (above) is on a node
  // of this communicator and verifies, and that `accept` takes (it may throw sigma::Error to refuse the scalars);
  // nullopt, with state unchanged, when there is none.
  std::optional<MemoryRestore> restore(TrainingStateView& state, int64_t min_step,
                                       const std::function<void(const nlohmann::json&)>& accept);

  // Removes every copy of this run on this communicator's nodes (after a restore, a roll-back, the run's end).
  void drop();

 private:
  struct Held {  // a verified copy of `rank`'s state at `step` of `world` ranks, read by `holder` on its node
    int rank;
    int64_t step;
    int holder;
    int world;
    uint64_t layout;   // layout_key of the copy
    std::string file;  // known to the holder only
  };
  std::string node_dir() const;
  CopyFile& slot_file(std::unique_ptr<CopyFile>& file, const char* role, int rank, int slot, size_t bytes);
  bool prepare_dir(int64_t state_bytes);
  std::vector<Held> verified_on_node(int64_t min_step) const;
  std::vector<Held> gather_held(const std::vector<Held>& mine) const;
  std::vector<Held> choose_copies(const std::vector<Held>& held, const std::vector<uint64_t>& layouts) const;
  std::string fetch(const std::vector<Held>& chosen, const std::vector<Held>& here) const;
  void disable(const std::string& why);

  MPI_Comm comm_;
  MemoryCopyOptions options_;
  int rank_ = 0, world_ = 1;
  bool enabled_ = false;
  bool checked_space_ = false;
  bool node_leader_ = false;      // the lowest rank of its node: it reads the node's copies on a restore
  int partner_ = -1;
  std::vector<int> node_of_;      // every rank's node (index in copy_partners.hpp's plan)
  std::vector<int> sources_;      // the ranks whose mirror this rank keeps
  // Two slots, rewritten in turn: this rank's copy and the mirrors it keeps (by their rank), open and mapped.
  std::unique_ptr<CopyFile> own_[2];
  std::map<int, std::unique_ptr<CopyFile>> mirrors_[2];
  int64_t takes_ = 0;
};

}  // namespace sigma::ckpt
