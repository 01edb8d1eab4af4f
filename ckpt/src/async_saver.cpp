#include "sigma/ckpt/async_saver.hpp"

#include <chrono>
#include <cstring>
#include <future>
#include <iostream>

#include "pieces.hpp"
#include "step_commit.hpp"

namespace sigma::ckpt {

// A deep copy of the state (so training may change it) and the background write of this rank's shard.
struct AsyncSaver::Pending {
  int64_t step = 0;
  std::string tmp_dir;
  std::vector<std::vector<float>> buffers;
  TrainingStateView copy;
  std::future<nlohmann::json> shard;  // this rank's manifest record; holds the exception on failure
};

AsyncSaver::AsyncSaver(MPI_Comm comm, std::string dir) : comm_(comm), dir_(std::move(dir)) {}

AsyncSaver::~AsyncSaver() {
  try {
    finish();
  } catch (const std::exception& e) {
    std::cerr << "sigma-ckpt: asynchronous save failed: " << e.what() << "\n";
  }
}

bool AsyncSaver::in_flight() const { return pending_ != nullptr; }

void AsyncSaver::start(int64_t step, const TrainingStateView& state) {
  finish();
  auto p = std::make_unique<Pending>();
  p->step = step;
  p->copy.scalars = state.scalars;
  // Host buffers are reused from the previous save: allocating and first-touching them costs more than the copy.
  p->buffers = std::move(spare_buffers_);
  p->buffers.resize(state.tensors.size());
  for (size_t i = 0; i < state.tensors.size(); ++i) {
    const TensorSlice& s = state.tensors[i];
    const int64_t n = s.local_shape.empty() ? 0 : s.local_shape[0] * row_elements(s.local_shape);
    p->buffers[i].resize(static_cast<size_t>(n));
    if (n > 0) std::memcpy(p->buffers[i].data(), s.data, static_cast<size_t>(n) * sizeof(float));
    TensorSlice c = s;
    c.data = p->buffers[i].data();
    p->copy.tensors.push_back(std::move(c));
  }
  p->tmp_dir = prepare_step(comm_, dir_, step);
  int rank = 0;
  MPI_Comm_rank(comm_, &rank);
  Pending* raw = p.get();
  p->shard = std::async(std::launch::async, [raw, rank] { return write_rank_shard(raw->tmp_dir, raw->copy, rank); });
  pending_ = std::move(p);
}

void AsyncSaver::abandon() noexcept {
  if (!pending_) return;
  std::unique_ptr<Pending> p = std::move(pending_);
  p->shard.wait();  // the thread reads p->copy: it must end before the copy goes
  spare_buffers_ = std::move(p->buffers);
}

bool AsyncSaver::commit_if_written() {
  if (!pending_) return false;
  const bool written = pending_->shard.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  int mine = written ? 1 : 0, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, comm_);
  if (all == 0) return false;
  finish();
  return true;
}

void AsyncSaver::finish() {
  if (!pending_) return;
  std::unique_ptr<Pending> p = std::move(pending_);
  nlohmann::json record;
  StageFailure failure;
  try {
    record = p->shard.get();
  } catch (const std::exception& e) {
    failure = StageFailure::from(e);
  }
  spare_buffers_ = std::move(p->buffers);
  commit_step(comm_, dir_, p->step, p->tmp_dir, p->copy.scalars, record, failure);
}

}  // namespace sigma::ckpt
