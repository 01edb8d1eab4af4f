#include "memory_copy_format.hpp"

#include <xxhash.h>

#include <cstring>

#include <fmt/format.h>

#include "pieces.hpp"

namespace sigma::ckpt {
namespace {

constexpr char kMagic[8] = {'S', 'I', 'G', 'M', 'A', 'M', 'C', '1'};

int64_t elements(const TensorSlice& s) { return s.local_shape.empty() ? 0 : s.local_shape[0] * row_elements(s.local_shape); }

uint64_t get_u64(const std::string& in, size_t at) {
  uint64_t value = 0;
  std::memcpy(&value, in.data() + at, sizeof value);
  return value;
}

}  // namespace

uint64_t state_data_bytes(const TrainingStateView& state) {
  uint64_t bytes = 0;
  for (const TensorSlice& s : state.tensors) bytes += static_cast<uint64_t>(elements(s)) * sizeof(float);
  return bytes;
}

namespace {

nlohmann::json tensors_json(const TrainingStateView& state) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const TensorSlice& s : state.tensors) {
    tensors.push_back({{"name", s.name}, {"local_shape", s.local_shape}, {"offset0", s.offset0}});
  }
  return tensors;
}

uint64_t hash_of(const nlohmann::json& tensors) {
  const std::string text = tensors.dump();
  return XXH3_64bits(text.data(), text.size());
}

}  // namespace

std::string copy_header(int rank, int world, int64_t step, const TrainingStateView& state) {
  return nlohmann::json{{"rank", rank}, {"world", world}, {"step", step}, {"scalars", state.scalars},
                        {"tensors", tensors_json(state)}}
      .dump();
}

uint64_t layout_key(const TrainingStateView& state) { return hash_of(tensors_json(state)); }
uint64_t layout_key(const CopyHeader& header) { return hash_of(header.tensors); }

size_t copy_size(const std::string& header, const TrainingStateView& state) {
  return sizeof kMagic + 3 * sizeof(uint64_t) + header.size() + state_data_bytes(state);
}

void write_copy(char* out, const std::string& header, const TrainingStateView& state) {
  char* at = out;
  auto put = [&at](const void* data, size_t n) {
    std::memcpy(at, data, n);
    at += n;
  };
  const uint64_t header_bytes = header.size(), data_bytes = state_data_bytes(state);
  put(kMagic, sizeof kMagic);
  put(&header_bytes, sizeof header_bytes);
  put(header.data(), header.size());
  put(&data_bytes, sizeof data_bytes);
  for (const TensorSlice& s : state.tensors) put(s.data, static_cast<size_t>(elements(s)) * sizeof(float));
  const uint64_t sum = XXH3_64bits(out, static_cast<size_t>(at - out));
  put(&sum, sizeof sum);
}

std::string encode_copy(int rank, int world, int64_t step, const TrainingStateView& state) {
  const std::string header = copy_header(rank, world, step, state);
  std::string out(copy_size(header, state), '\0');
  write_copy(out.data(), header, state);
  return out;
}

std::optional<CopyHeader> verify_copy(const std::string& bytes, std::string& why) {
  const size_t fixed = sizeof kMagic + 3 * sizeof(uint64_t);
  if (bytes.size() < fixed || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    why = fmt::format("not a sigma memory copy ({} bytes, no SIGMAMC1 magic)", bytes.size());
    return std::nullopt;
  }
  const uint64_t header_bytes = get_u64(bytes, sizeof kMagic);
  if (header_bytes > bytes.size() - fixed) {
    why = fmt::format("header length {} runs past the copy's {} bytes", header_bytes, bytes.size());
    return std::nullopt;
  }
  const size_t data_at = sizeof kMagic + 2 * sizeof(uint64_t) + header_bytes;
  const uint64_t data_bytes = get_u64(bytes, data_at - sizeof(uint64_t));
  if (data_bytes != bytes.size() - fixed - header_bytes) {
    why = fmt::format("data length {} does not match the copy's {} bytes", data_bytes, bytes.size());
    return std::nullopt;
  }
  const size_t sum_at = bytes.size() - sizeof(uint64_t);
  if (XXH3_64bits(bytes.data(), sum_at) != get_u64(bytes, sum_at)) {
    why = "checksum mismatch (XXH3-64)";
    return std::nullopt;
  }
  try {
    const auto header = nlohmann::json::parse(bytes.begin() + sizeof kMagic + sizeof(uint64_t),
                                              bytes.begin() + static_cast<std::ptrdiff_t>(data_at - sizeof(uint64_t)));
    return CopyHeader{header.at("rank").get<int>(), header.at("world").get<int>(), header.at("step").get<int64_t>(),
                      header.at("scalars"), header.at("tensors"), data_at, data_bytes};
  } catch (const nlohmann::json::exception& e) {
    why = fmt::format("bad header: {}", e.what());
    return std::nullopt;
  }
}

std::string copy_matches(const CopyHeader& header, const TrainingStateView& state) {
  if (!header.tensors.is_array() || header.tensors.size() != state.tensors.size()) {
    return fmt::format("the copy holds {} tensors, the state {}", header.tensors.size(), state.tensors.size());
  }
  for (size_t i = 0; i < state.tensors.size(); ++i) {
    const TensorSlice& s = state.tensors[i];
    const nlohmann::json& t = header.tensors[i];
    if (!t.is_object() || t.value("name", "") != s.name ||
        t.value("local_shape", std::vector<int64_t>{}) != s.local_shape || t.value("offset0", int64_t{-1}) != s.offset0) {
      return fmt::format("tensor {} of the copy ({}) does not match the state's {}", i, t.dump(), s.name);
    }
  }
  if (header.data_bytes != state_data_bytes(state)) {
    return fmt::format("the copy holds {} data bytes, the state {}", header.data_bytes, state_data_bytes(state));
  }
  return "";
}

void fill_from_copy(const std::string& bytes, const CopyHeader& header, TrainingStateView& state) {
  size_t at = header.data_at;
  for (TensorSlice& s : state.tensors) {
    const size_t n = static_cast<size_t>(elements(s)) * sizeof(float);
    std::memcpy(s.data, bytes.data() + at, n);
    at += n;
  }
}

}  // namespace sigma::ckpt
