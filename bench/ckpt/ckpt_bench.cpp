// ckpt_bench DIR [MiB per rank]: save/load throughput of sigma checkpoints vs raw write+fsync / read of the same
// bytes, the single-file MPI-IO alternative, and the training stall of an asynchronous save.
#include <fcntl.h>
#include <hdf5.h>
#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sigma/ckpt/async_saver.hpp"
#include "sigma/ckpt/checkpoint.hpp"

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

void report(const char* what, double bytes, double seconds, double raw_seconds) {
  if (g_rank != 0) return;
  fmt::print("{:<34} {:8.3f} s  {:8.1f} MiB/s", what, seconds, bytes / seconds / (1 << 20));
  if (raw_seconds > 0) fmt::print("  {:5.1f}% of raw", 100.0 * raw_seconds / seconds);
  fmt::print("\n");
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_world);
  const std::string dir = argc > 1 ? argv[1] : "/tmp/sigma_ckpt_bench";
  const int64_t mib = argc > 2 ? std::stoll(argv[2]) : 256;
  if (g_rank == 0) std::filesystem::create_directories(dir);
  std::vector<std::vector<float>> buffers;
  sigma::TrainingStateView state = make_state(buffers, mib * (1 << 20) / 4);
  std::vector<float> flat;
  for (const auto& b : buffers) flat.insert(flat.end(), b.begin(), b.end());
  const double bytes = static_cast<double>(flat.size()) * 4 * g_world;
  const std::string raw_path = fmt::format("{}/raw_r{}.bin", dir, g_rank);
  if (g_rank == 0) fmt::print("{} ranks x {} MiB = {:.0f} MiB in {}\n", g_world, mib, bytes / (1 << 20), dir);

  const double raw_w = timed([&] { raw_write(raw_path, flat); });
  report("raw write+fsync (per-rank files)", bytes, raw_w, 0);
  report("sigma save (HDF5 shard per rank)", bytes,
         timed([&] { sigma::ckpt::save_checkpoint(MPI_COMM_WORLD, dir + "/ckpt", 1, state); }), raw_w);
  report("single file, collective MPI-IO", bytes, timed([&] { single_file_write(dir + "/single.h5", flat); }), raw_w);

  const bool dropped = drop_page_cache();
  const double raw_r = timed([&] { raw_read(raw_path, flat); });
  report(dropped ? "raw read (page cache dropped)" : "raw read (page cache NOT dropped)", bytes, raw_r, 0);
  drop_page_cache();
  report("sigma load (verify checksums)", bytes,
         timed([&] { sigma::ckpt::load_newest_checkpoint(MPI_COMM_WORLD, dir + "/ckpt", state); }), raw_r);

  const double sync_save = timed([&] { sigma::ckpt::save_checkpoint(MPI_COMM_WORLD, dir + "/ckpt", 2, state); });
  sigma::ckpt::AsyncSaver saver(MPI_COMM_WORLD, dir + "/ckpt");
  saver.start(3, state);  // the first save allocates the host buffers; later saves reuse them
  saver.finish();
  // The stall is what the training thread waits for: the copy into host buffers. Measured per rank without a
  // trailing barrier, whose busy-polling would compete with the writer thread for the cores.
  MPI_Barrier(MPI_COMM_WORLD);
  const double start = now();
  saver.start(4, state);
  const double mine = now() - start;
  double stall = 0;
  MPI_Allreduce(&mine, &stall, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  saver.finish();
  if (g_rank == 0)
    fmt::print("async save stall {:.3f} s vs synchronous save {:.3f} s: {:.1f}%\n", stall, sync_save,
               100.0 * stall / sync_save);
  MPI_Barrier(MPI_COMM_WORLD);
  if (g_rank == 0 && argc < 4) std::filesystem::remove_all(dir);  // a third argument keeps the files
  MPI_Finalize();
  return 0;
}
