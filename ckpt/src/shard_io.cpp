#include "shard_io.hpp"

#include <hdf5.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "checksum.hpp"
#include "durable_fs.hpp"
#include "sigma/core/error.hpp"

namespace sigma::ckpt {
namespace {

// Closes an HDF5 handle at scope exit.
class H5Handle {
 public:
  H5Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~H5Handle() { if (id_ >= 0) close_(id_); }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

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

void write_attribute(hid_t dataset, const char* name, const std::vector<int64_t>& values) {
  hsize_t n = values.size();
  H5Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  H5Handle attr(H5Acreate2(dataset, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr.ok() || H5Awrite(attr.get(), H5T_NATIVE_INT64, values.data()) < 0)
    throw Error(ExitCode::internal, fmt::format("cannot write attribute {}", name));
}

void write_piece(hid_t file, const std::string& path, Piece& p) {
  const int64_t count = (p.row_end - p.row_begin) * row_elements(p.global_shape);
  p.xxh3_64 = checksum_hex(p.rows, count);
  auto dims = piece_dims(p.global_shape, p.row_end - p.row_begin);
  H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  H5Handle ds(H5Dcreate2(file, p.dataset.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                         H5P_DEFAULT), H5Dclose);
  if (!ds.ok() || H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.rows) < 0)
    throw Error(ExitCode::internal, fmt::format("{}: dataset {}: write failed", path, p.dataset));
  write_attribute(ds.get(), "row_begin", {p.row_begin});
  write_attribute(ds.get(), "global_shape", p.global_shape);
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
        H5Dread(ds, H5T_NATIVE_FLOAT, mem.get(), file_space, H5P_DEFAULT, block) < 0)
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
}

}  // namespace

void write_shard(const std::string& path, std::vector<Piece>& pieces) {
  silence_hdf5();
  {
    H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    if (!file.ok()) throw Error(ExitCode::internal, fmt::format("{}: cannot create HDF5 file", path));
    for (Piece& p : pieces) write_piece(file.get(), path, p);
  }
  fsync_path(path);
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
