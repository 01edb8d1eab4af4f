// ckpt_bench DIR [MiB per rank] [rounds] [keep]: save/load throughput of sigma checkpoints vs raw write+fsync /
// read of the same bytes, the single-file MPI-IO alternative, and the training stall of an asynchronous save.
// A virtual disk's speed drifts several-fold within a minute, so each round measures raw and sigma back to back
// and every figure is the median over the rounds (range in brackets).
#include <fcntl.h>
#include <hdf5.h>
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sigma/ckpt/async_saver.hpp"
#include "sigma/ckpt/checkpoint.hpp"
#include "sigma/platform/mpi_process.hpp"
#include "sigma/platform/mpi_start.hpp"

namespace {

int g_rank = 0, g_world = 1;

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Wall time of a collective action, from the barrier before to the barrier after.
template <class F>
double timed(F&& action) {
  MPI_Barrier(MPI_COMM_WORLD);
  const double start = now();
  action();
  MPI_Barrier(MPI_COMM_WORLD);
  return now() - start;
}

// Empties the page cache so reads come from the device; false when not permitted (then reads may be cached).
bool drop_page_cache() {
  ::sync();
  bool ok = false;
  if (g_rank == 0) ok = static_cast<bool>(std::ofstream("/proc/sys/vm/drop_caches") << "3\n");
  MPI_Bcast(&ok, 1, MPI_CXX_BOOL, 0, MPI_COMM_WORLD);
  return ok;
}

void raw_write(const std::string& path, const std::vector<float>& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const char* p = reinterpret_cast<const char*>(data.data());
  size_t left = data.size() * sizeof(float);
  while (left > 0) {
    ssize_t n = ::write(fd, p, left > (64u << 20) ? (64u << 20) : left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
}

void raw_read(const std::string& path, std::vector<float>& data) {
  int fd = ::open(path.c_str(), O_RDONLY);
  char* p = reinterpret_cast<char*>(data.data());
  size_t left = data.size() * sizeof(float);
  while (left > 0) {
    ssize_t n = ::read(fd, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
  ::close(fd);
}

// The alternative layout: one file for all ranks, written collectively through MPI-IO.
void single_file_write(const std::string& path, const std::vector<float>& data) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  hsize_t total = data.size() * static_cast<hsize_t>(g_world), mine = data.size(),
          offset = data.size() * static_cast<hsize_t>(g_rank);
  hid_t space = H5Screate_simple(1, &total, nullptr);
  hid_t ds = H5Dcreate2(file, "/state", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sselect_hyperslab(space, H5S_SELECT_SET, &offset, nullptr, &mine, nullptr);
  hid_t memspace = H5Screate_simple(1, &mine, nullptr);
  hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
  H5Dwrite(ds, H5T_NATIVE_FLOAT, memspace, space, dxpl, data.data());
  H5Fflush(file, H5F_SCOPE_GLOBAL);
  for (hid_t id : {dxpl, fapl}) H5Pclose(id);
  H5Sclose(memspace);
  H5Sclose(space);
  H5Dclose(ds);
  H5Fclose(file);
  if (g_rank == 0) {
    int fd = ::open(path.c_str(), O_RDONLY);
    ::fsync(fd);
    ::close(fd);
  }
}

sigma::TrainingStateView make_state(std::vector<std::vector<float>>& buffers, int64_t floats_per_rank) {
  // 8 expert tensors split across ranks, as in an expert-parallel model (one replica each).
  sigma::TrainingStateView view;
  const int64_t cols = 1024, rows = floats_per_rank / 8 / cols;
  for (int t = 0; t < 8; ++t) {
    buffers.emplace_back(static_cast<size_t>(rows * cols));
    for (size_t i = 0; i < buffers.back().size(); ++i) buffers.back()[i] = static_cast<float>(i % 977) * 0.5f + t;
    sigma::TensorSlice s;
    s.name = fmt::format("experts.{}.w", t);
    s.global_shape = {rows * g_world, cols};
    s.local_shape = {rows, cols};
    s.offset0 = rows * g_rank;
    s.data = buffers.back().data();
    view.tensors.push_back(s);
  }
  view.scalars = {{"step", 1}};
  return view;
}

// Seconds per round of one measured action.
struct Series {
  std::vector<double> seconds;
  double median() const {
    std::vector<double> v = seconds;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }
  double min() const { return *std::min_element(seconds.begin(), seconds.end()); }
  double max() const { return *std::max_element(seconds.begin(), seconds.end()); }
};

// Median rate, and the median of the per-round ratios to the raw baseline of the same round.
void report(const char* what, double bytes, const Series& s, const Series* raw) {
  if (g_rank != 0) return;
  fmt::print("{:<34} {:8.3f} s [{:.3f}-{:.3f}]  {:8.1f} MiB/s", what, s.median(), s.min(), s.max(),
             bytes / s.median() / (1 << 20));
  if (raw) {
    Series ratio;
    for (size_t i = 0; i < s.seconds.size(); ++i) ratio.seconds.push_back(100.0 * raw->seconds[i] / s.seconds[i]);
    fmt::print("  {:5.1f}% of raw [{:.1f}-{:.1f}]", ratio.median(), ratio.min(), ratio.max());
  }
  fmt::print("\n");
}

// The training thread's wait at the start of an asynchronous save (the copy into host buffers). Measured per
// rank without a trailing barrier, whose busy-polling would compete with the writer thread for the cores.
double async_stall(sigma::ckpt::AsyncSaver& saver, int64_t step, sigma::TrainingStateView& state) {
  MPI_Barrier(MPI_COMM_WORLD);
  const double start = now();
  saver.start(step, state);
  const double mine = now() - start;
  double stall = 0;
  MPI_Allreduce(&mine, &stall, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  saver.finish();
  return stall;
}

}  // namespace

int main(int argc, char** argv) {
  sigma::core::start_mpi(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_world);
  const std::string dir = argc > 1 ? argv[1] : "/tmp/sigma_ckpt_bench";
  const int64_t mib = argc > 2 ? std::stoll(argv[2]) : 256;
  const int rounds = argc > 3 ? std::max(1, std::stoi(argv[3])) : 5;
  if (g_rank == 0) std::filesystem::create_directories(dir);
  std::vector<std::vector<float>> buffers;
  sigma::TrainingStateView state = make_state(buffers, mib * (1 << 20) / 4);
  std::vector<float> flat;
  for (const auto& b : buffers) flat.insert(flat.end(), b.begin(), b.end());
  const double bytes = static_cast<double>(flat.size()) * 4 * g_world;
  const std::string raw_path = fmt::format("{}/raw_r{}.bin", dir, g_rank);
  if (g_rank == 0)
    fmt::print("{} ranks x {} MiB = {:.0f} MiB in {}, {} rounds\n", g_world, mib, bytes / (1 << 20), dir, rounds);

  Series raw_w, save, single, raw_r, load, sync_save, stall;
  bool dropped = true;
  sigma::ckpt::AsyncSaver saver(MPI_COMM_WORLD, dir + "/async");
  saver.start(0, state);  // the first save allocates the host buffers; later saves reuse them
  saver.finish();
  for (int round = 0; round < rounds; ++round) {
    const int64_t step = 1 + round;
    // Which write goes first alternates, so neither always meets the other's leftover write-back.
    // Every write goes to a new file, as a checkpoint does (truncating an old one costs extra).
    auto raw = [&] {
      std::filesystem::remove(raw_path);
      raw_w.seconds.push_back(timed([&] { raw_write(raw_path, flat); }));
    };
    auto sigma = [&] {
      save.seconds.push_back(timed([&] { sigma::ckpt::save_checkpoint(MPI_COMM_WORLD, dir + "/ckpt", step, state); }));
    };
    if (round % 2 == 0) raw(), sigma();
    else sigma(), raw();
    if (g_rank == 0) std::filesystem::remove(dir + "/single.h5");
    single.seconds.push_back(timed([&] { single_file_write(dir + "/single.h5", flat); }));
    dropped = drop_page_cache() && dropped;
    raw_r.seconds.push_back(timed([&] { raw_read(raw_path, flat); }));
    drop_page_cache();
    load.seconds.push_back(timed([&] { sigma::ckpt::load_newest_checkpoint(MPI_COMM_WORLD, dir + "/ckpt", state); }));
    sync_save.seconds.push_back(
        timed([&] { sigma::ckpt::save_checkpoint(MPI_COMM_WORLD, dir + "/sync", step, state); }));
    stall.seconds.push_back(async_stall(saver, step, state));
  }

  report("raw write+fsync (per-rank files)", bytes, raw_w, nullptr);
  report("sigma save (HDF5 shard per rank)", bytes, save, &raw_w);
  report("single file, collective MPI-IO", bytes, single, &raw_w);
  report(dropped ? "raw read (page cache dropped)" : "raw read (page cache NOT dropped)", bytes, raw_r, nullptr);
  report("sigma load (verify checksums)", bytes, load, &raw_r);
  if (g_rank == 0) {
    Series share;
    for (int i = 0; i < rounds; ++i) share.seconds.push_back(100.0 * stall.seconds[i] / sync_save.seconds[i]);
    fmt::print("async save stall {:.3f} s vs synchronous save {:.3f} s: {:.1f}% [{:.1f}-{:.1f}]\n", stall.median(),
               sync_save.median(), share.median(), share.min(), share.max());
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (g_rank == 0 && argc < 5) std::filesystem::remove_all(dir);  // a fourth argument keeps the files
  MPI_Finalize();
  return 0;
}
