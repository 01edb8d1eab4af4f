#include "shard_io.hpp"

#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "checksum.hpp"
#include "durable_fs.hpp"
#include "sigma/core/durable_file.hpp"
#include "sigma/core/error.hpp"
#include "sigma/core/trusted_path.hpp"

namespace sigma::ckpt {
namespace {

// What HDF5's error stack says about the call that just failed: the errno its file driver saw (the sec2 driver
// writes "errno = N" into its message; errno itself may have been changed by the library's cleanup since) and
// the innermost description.
struct Hdf5Failure {
  int sys_errno = 0;
  std::string detail;
};

herr_t note_failure(unsigned, const H5E_error2_t* entry, void* data) {
  auto* failure = static_cast<Hdf5Failure*>(data);
  if (entry->desc == nullptr) return 0;
  const std::string desc = entry->desc;
  if (failure->detail.empty()) failure->detail = desc;
  const auto at = desc.find("errno = ");
  if (failure->sys_errno == 0 && at != std::string::npos) failure->sys_errno = std::atoi(desc.c_str() + at + 8);
  return 0;
}

// The error for a failed HDF5 call on the shard `path`: with the file system's errno, its code (a full or
// read-only filesystem is config) and its words; else internal, with HDF5's own description.
Error hdf5_error(const std::string& path, const std::string& what) {
  Hdf5Failure failure;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, note_failure, &failure);  // innermost first
  if (failure.sys_errno > 0)
    return Error(exit_code_for_errno(failure.sys_errno),
                 fmt::format("{}: {} failed: {}", path, what, std::strerror(failure.sys_errno)), failure.sys_errno);
  return Error(ExitCode::internal, fmt::format("{}: {} failed{}", path, what,
                                               failure.detail.empty() ? "" : " (HDF5: " + failure.detail + ")"));
}

// An HDF5 object or dataspace identifier. close() closes it and throws when HDF5 reports a failure; the
// destructor closes it only on a path that is already throwing, and never throws itself, so the first failure
// is the one reported.
class H5Handle {
 public:
  H5Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~H5Handle() { if (id_ >= 0) close_(id_); }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }
  herr_t close_now() {
    const hid_t id = std::exchange(id_, -1);
    return id >= 0 ? close_(id) : 0;
  }
  void close(const std::string& path, const std::string& what) {
    if (close_now() < 0) throw hdf5_error(path, "closing " + what);
  }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// Every dimension positive and the element count within kMaxTensorElements, computed without overflow.
bool plausible_shape(const std::vector<int64_t>& shape) {
  int64_t elements = 1;
  for (int64_t dim : shape) {
    if (dim <= 0 || dim > kMaxTensorElements / elements) return false;
    elements *= dim;
  }
  return true;
}

void silence_hdf5() {
  static const bool done = [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); return true; }();
  (void)done;
}

std::vector<hsize_t> piece_dims(const std::vector<int64_t>& global_shape, int64_t rows) {
  std::vector<hsize_t> dims(global_shape.begin(), global_shape.end());
  dims[0] = static_cast<hsize_t>(rows);
  return dims;
}

[[noreturn]] void io_failed(const std::string& path, const char* step) {
  const int err = errno;
  throw Error(exit_code_for_errno(err), fmt::format("{}: {} failed: {}", path, step, std::strerror(err)), err);
}

void write_all_at(int fd, const std::string& path, const void* data, size_t size, off_t offset) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = pwrite(fd, bytes, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) io_failed(path, "write");
    if (n == 0) {
      errno = EIO;
      io_failed(path, "write");
    }
    bytes += n, offset += n, size -= static_cast<size_t>(n);
  }
}

void write_attribute(const std::string& image, hid_t dataset, const char* name, const std::vector<int64_t>& values) {
  hsize_t n = values.size();
  H5Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  H5Handle attr(H5Acreate2(dataset, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!space.ok() || !attr.ok() || H5Awrite(attr.get(), H5T_NATIVE_INT64, values.data()) < 0)
    throw hdf5_error(image, fmt::format("writing attribute {}", name));
  attr.close(image, fmt::format("attribute {}", name));
  space.close(image, "a dataspace");
}

// A shard's HDF5 structure, built in a scratch file in memory (/dev/shm): every dataset allocated, contiguous
// and never filled, so the image holds the metadata only (the data ranges are holes, which take no memory) and
// says where each piece's rows go.
struct ShardImage {
  UniqueFd fd;
  off_t size = 0;
  std::vector<off_t> offsets;  // of each piece's rows
};

class ScratchFile {
 public:
  ScratchFile() : fd_(mkostemp(name_.data(), O_CLOEXEC)) {
    if (fd_.get() < 0) io_failed(name_, "creating a scratch file");
  }
  ~ScratchFile() { remove(); }
  void remove() {  // HDF5 keeps its descriptor and this object its own: the name is needed only to open it
    if (!removed_) unlink(name_.c_str());
    removed_ = true;
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  const std::string& name() const { return name_; }
  UniqueFd take() { return std::move(fd_); }

 private:
  std::string name_ = "/dev/shm/sigma-ckpt-shard.XXXXXX";
  UniqueFd fd_;
  bool removed_ = false;
};

ShardImage lay_out(const std::string& path, const std::vector<Piece>& pieces) {
  ScratchFile scratch;
  const std::string what = fmt::format("{} (its layout in {})", path, scratch.name());
  H5Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (!dcpl.ok() || H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS) < 0 ||
      H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY) < 0 || H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER) < 0)
    throw hdf5_error(what, "setting the dataset layout");
  H5Handle file(H5Fcreate(scratch.name().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) throw hdf5_error(what, "creating the HDF5 file");
  scratch.remove();  // nothing is left behind in memory by a process killed while saving
  ShardImage image;
  for (const Piece& p : pieces) {
    const auto dims = piece_dims(p.global_shape, p.row_end - p.row_begin);
    H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
    H5Handle ds(H5Dcreate2(file.get(), p.dataset.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, dcpl.get(),
                           H5P_DEFAULT), H5Dclose);
    if (!space.ok() || !ds.ok()) throw hdf5_error(what, "creating dataset " + p.dataset);
    write_attribute(what, ds.get(), "row_begin", {p.row_begin});
    write_attribute(what, ds.get(), "global_shape", p.global_shape);
    const haddr_t offset = H5Dget_offset(ds.get());
    if (offset == HADDR_UNDEF) throw hdf5_error(what, "placing dataset " + p.dataset);
    image.offsets.push_back(static_cast<off_t>(offset));
    ds.close(what, "dataset " + p.dataset);
    space.close(what, "a dataspace");
  }
  dcpl.close(what, "a property list");
  file.close(what, "the HDF5 file");
  image.fd = scratch.take();
  struct stat st {};
  if (fstat(image.fd.get(), &st) != 0) io_failed(what, "fstat");
  image.size = st.st_size;
  return image;
}

// lay_out, whose failure (in /dev/shm) keeps its code and words but not its errno: a full /dev/shm is not a full
// checkpoint filesystem, which an errno of ENOSPC on a save would announce.
ShardImage laid_out(const std::string& path, const std::vector<Piece>& pieces) {
  try {
    return lay_out(path, pieces);
  } catch (const Error& e) {
    throw Error(e.code(), e.what());
  }
}

// Copies the image's bytes outside [from, to) ranges that the data will fill (the metadata).
void copy_metadata(const ShardImage& image, int out, const std::string& path,
                   std::vector<std::pair<off_t, off_t>> data_ranges) {
  std::sort(data_ranges.begin(), data_ranges.end());
  data_ranges.emplace_back(image.size, image.size);
  std::vector<char> buffer;
  off_t at = 0;
  for (const auto& [begin, end] : data_ranges) {
    if (begin > at) {
      buffer.resize(static_cast<size_t>(begin - at));
      if (pread(image.fd.get(), buffer.data(), buffer.size(), at) != static_cast<ssize_t>(buffer.size()))
        io_failed(path + " (its layout in /dev/shm)", "read");
      write_all_at(out, path, buffer.data(), buffer.size(), at);
    }
    at = std::max(at, end);
  }
}

// Reads a dataset of shape `dims` into `data` in blocks of rows, hashing each block right after it lands, while
// it is still in cache: one pass over memory instead of a read pass and a separate checksum pass. With `data`
// null the blocks go through one reused buffer: the dataset is checked without holding it in memory.
bool read_rows_hashing(hid_t ds, hid_t file_space, const std::vector<hsize_t>& dims, float* data,
                       StreamingChecksum& sum) {
  constexpr hsize_t kBlockBytes = 4u << 20;
  hsize_t row = 1;
  for (size_t i = 1; i < dims.size(); ++i) row *= dims[i];
  const hsize_t block_rows = std::max<hsize_t>(1, kBlockBytes / (row * sizeof(float)));
  std::vector<float> buffer(data == nullptr ? static_cast<size_t>(std::min(block_rows, dims[0]) * row) : 0);
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  for (hsize_t r = 0; r < dims[0]; r += block_rows) {
    start[0] = r;
    count[0] = std::min(block_rows, dims[0] - r);
    H5Handle mem(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose);
    float* block = data != nullptr ? data + r * row : buffer.data();
    if (H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr) < 0 ||
        H5Dread(ds, H5T_NATIVE_FLOAT, mem.get(), file_space, H5P_DEFAULT, block) < 0 || mem.close_now() < 0)
      return false;
    sum.add(block, static_cast<int64_t>(count[0] * row));
  }
  return true;
}

// Opens the piece's dataset and checks its shape against the manifest before anything is allocated for it, then
// reads it into `data` (or, when null, only hashes it) and compares the checksum.
void read_checked(const std::string& step_dir, const PieceRecord& p, std::vector<float>* owned, float* data) {
  silence_hdf5();
  const std::string path = step_dir + "/" + p.file;
  auto fail = [&](ExitCode code, const std::string& what) {
    return Error(code, fmt::format("{}: dataset {}: {}", path, p.dataset, what));
  };
  if (!std::filesystem::exists(path)) throw fail(ExitCode::not_found, "shard file is missing");
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) throw fail(ExitCode::bad_data, "not a readable HDF5 file (truncated or corrupt)");
  if (H5Lexists(file.get(), p.dataset.c_str(), H5P_DEFAULT) <= 0) throw fail(ExitCode::not_found, "dataset is missing");
  H5Handle ds(H5Dopen2(file.get(), p.dataset.c_str(), H5P_DEFAULT), H5Dclose);
  H5Handle space(H5Dget_space(ds.get()), H5Sclose);
  const auto want = piece_dims(p.global_shape, p.row_end - p.row_begin);
  std::vector<hsize_t> have(want.size() + 1);
  if (!ds.ok() || !space.ok() || H5Sget_simple_extent_ndims(space.get()) != static_cast<int>(want.size()))
    throw fail(ExitCode::bad_data, "unreadable or wrong rank");
  H5Sget_simple_extent_dims(space.get(), have.data(), nullptr);
  have.pop_back();
  if (have != want) throw fail(ExitCode::bad_data, "shape differs from the manifest");
  if (owned != nullptr) {
    owned->resize(static_cast<size_t>((p.row_end - p.row_begin) * row_elements(p.global_shape)));
    data = owned->data();
  }
  StreamingChecksum sum;
  if (!read_rows_hashing(ds.get(), space.get(), want, data, sum))
    throw fail(ExitCode::bad_data, "read failed (truncated or corrupt)");
  const std::string got = sum.hex();
  if (got != p.xxh3_64)
    throw fail(ExitCode::bad_data, fmt::format("checksum mismatch (XXH3-64 of data {}, manifest {})", got, p.xxh3_64));
  space.close(path, "dataset " + p.dataset + " dataspace");
  ds.close(path, "dataset " + p.dataset);
  file.close(path, "the HDF5 file");
}

}  // namespace

void write_shard(const std::string& path, std::vector<Piece>& pieces) {
  static_assert(std::endian::native == std::endian::little, "the rows are written as the file's float32 LE bytes");
  silence_hdf5();
  // HDF5 lays the file out in memory, and sigma writes every byte of the real file itself: a full or failing
  // filesystem is one checked write with its errno. (HDF5 1.10 cannot survive a failed write of its own: a file
  // whose flush or close fails keeps a freed identifier, and its cleanup at MPI_Finalize then crashes.)
  const ShardImage image = laid_out(path, pieces);
  UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (out.get() < 0) io_failed(path, "create");
  std::vector<std::pair<off_t, off_t>> data_ranges;
  for (size_t i = 0; i < pieces.size(); ++i) {
    Piece& p = pieces[i];
    const int64_t count = (p.row_end - p.row_begin) * row_elements(p.global_shape);
    p.xxh3_64 = checksum_hex(p.rows, count);
    const size_t bytes = static_cast<size_t>(count) * sizeof(float);
    write_all_at(out.get(), path, p.rows, bytes, image.offsets[i]);
    data_ranges.emplace_back(image.offsets[i], image.offsets[i] + static_cast<off_t>(bytes));
  }
  copy_metadata(image, out.get(), path, std::move(data_ranges));
  if (ftruncate(out.get(), image.size) != 0) io_failed(path, "truncate");
  if (fsync(out.get()) != 0) io_failed(path, "fsync");
  if (::close(out.release()) != 0) io_failed(path, "close");  // NFS reports a failed write-back here
}

PieceRecord piece_record_from_json(const nlohmann::json& j, const std::string& manifest_path) {
  try {
    PieceRecord r;
    r.tensor = j.at("tensor").get<std::string>();
    r.file = j.at("file").get<std::string>();
    r.dataset = j.at("dataset").get<std::string>();
    r.xxh3_64 = j.at("xxh3_64").get<std::string>();
    r.global_shape = j.at("global_shape").get<std::vector<int64_t>>();
    r.row_begin = j.at("row_begin").get<int64_t>();
    r.row_end = j.at("row_end").get<int64_t>();
    if (r.file.find('/') != std::string::npos || r.global_shape.empty() || r.row_begin < 0 ||
        r.row_end <= r.row_begin || r.row_end > r.global_shape[0])
      throw std::runtime_error("inconsistent file name, shape or rows");
    if (!plausible_shape(r.global_shape))
      throw std::runtime_error(fmt::format("shape [{}] is not positive or holds more than {} elements",
                                           fmt::join(r.global_shape, ","), kMaxTensorElements));
    return r;
  } catch (const std::exception& e) {
    throw Error(ExitCode::bad_data, fmt::format("{}: bad piece entry: {}", manifest_path, e.what()));
  }
}

std::vector<float> read_piece(const std::string& step_dir, const PieceRecord& p) {
  std::vector<float> data;
  read_checked(step_dir, p, &data, nullptr);
  return data;
}

void read_piece_into(const std::string& step_dir, const PieceRecord& p, float* data) {
  read_checked(step_dir, p, nullptr, data);
}

void verify_piece(const std::string& step_dir, const PieceRecord& p) { read_checked(step_dir, p, nullptr, nullptr); }

}  // namespace sigma::ckpt
