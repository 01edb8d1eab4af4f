#include "sigma/trainer/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <cblas.h>
#include <immintrin.h>

namespace sigma::trainer {
namespace {

constexpr int kSpins = 4000;                             // ~0.2 ms of pause instructions, then
constexpr auto kYieldFor = std::chrono::milliseconds(2);  // up to 2 ms of giving the core away, then sleep

// Waits for done() without sleeping for about kYieldFor: a step's serial parts (MPI calls, routing counts)
// often take longer than the spin, and sleeping through them (about a hundred times a step on the bench
// model) cost a share of every step (bench/results/trainer-speed.md, the pool's wake-ups). Yielding, not
// spinning, keeps the core available to other threads when the machine is busy. Returns done()'s last answer.
template <class Done>
bool wait_awake(Done done) {
  for (int i = 0; i < kSpins; ++i) {
    if (done()) return true;
    _mm_pause();
  }
  const auto until = std::chrono::steady_clock::now() + kYieldFor;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::yield();
  }
  return done();
}

thread_local bool t_in_body = false;

// Workers 1..threads-1; the caller runs chunk 0. One job at a time (the trainer forks from one thread). Every
// worker acknowledges every job, also when it has no chunk, so the next job cannot change job_ and chunks_
// while a worker still reads them.
class Pool {
 public:
  explicit Pool(int threads) {
    for (int id = 1; id < threads; ++id) workers_.emplace_back([this, id] { work(id); });
  }
  ~Pool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }
  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  void run(int chunks, const std::function<void(int)>& job) {
    job_ = &job;
    chunks_ = chunks;
    remaining_.store(threads() - 1);
    {
      std::lock_guard lock(mutex_);
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    run_chunk(0);
    if (!wait_awake([this] { return remaining_.load() == 0; })) {
      std::unique_lock lock(mutex_);
      done_.wait(lock, [this] { return remaining_.load() == 0; });
    }
  }

 private:
  void run_chunk(int id) {
    t_in_body = true;
    (*job_)(id);
    t_in_body = false;
  }

  void work(int id) {
    uint64_t seen = 0;
    for (;;) {
      if (!wait_awake([&] { return generation_.load() != seen; })) {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load() != seen; });
      }
      seen = generation_.load();
      if (stop_) return;
      if (id < chunks_) run_chunk(id);
      if (remaining_.fetch_sub(1) == 1) {
        std::lock_guard lock(mutex_);  // pairs with the caller's check under the same mutex
        done_.notify_one();
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> remaining_{0};
  const std::function<void(int)>* job_ = nullptr;
  int chunks_ = 0;
  bool stop_ = false;
};

std::unique_ptr<Pool>& pool() {
  static std::unique_ptr<Pool> p = std::make_unique<Pool>(1);
  return p;
}

}  // namespace

void set_compute_threads(int threads) {
  openblas_set_num_threads(1);
  threads = std::max(1, threads);
  if (pool()->threads() != threads) {
    pool().reset();
    pool() = std::make_unique<Pool>(threads);
  }
}

int compute_threads() { return pool()->threads(); }

void parallel_for(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t, int)>& body) {
  if (n <= 0) return;
  const int64_t chunks = t_in_body ? 1 : std::min<int64_t>(compute_threads(), n / std::max<int64_t>(1, min_chunk));
  if (chunks <= 1) {
    body(0, n, 0);
    return;
  }
  pool()->run(static_cast<int>(chunks), [&](int c) { body(n * c / chunks, n * (c + 1) / chunks, c); });
}

}  // namespace sigma::trainer
