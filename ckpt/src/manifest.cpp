#include "manifest.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "durable_fs.hpp"
#include "sigma/ckpt/catalog.hpp"
#include "sigma/core/error.hpp"

namespace sigma::ckpt {

nlohmann::json build_manifest(int64_t step, const nlohmann::json& scalars, const std::vector<nlohmann::json>& per_rank) {
  nlohmann::json tensors = nlohmann::json::object();
  nlohmann::json layout = nlohmann::json::array();
  for (size_t rank = 0; rank < per_rank.size(); ++rank) {
    layout.push_back({{"rank", rank}, {"tensors", per_rank[rank].at("layout")}});
    for (const auto& piece : per_rank[rank].at("pieces")) {
      auto& entry = tensors[piece.at("tensor").get<std::string>()];
      entry["dtype"] = "float32";
      entry["global_shape"] = piece.at("global_shape");
      entry["pieces"].push_back({{"file", piece.at("file")}, {"dataset", piece.at("dataset")},
                                 {"row_begin", piece.at("row_begin")}, {"row_end", piece.at("row_end")},
                                 {"xxh3_64", piece.at("xxh3_64")}});
    }
  }
  nlohmann::json m = {{"format", "sigma-ckpt"}, {"format_version", kFormatVersion}, {"step", step},
                      {"world_size", per_rank.size()}, {"scalars", scalars}, {"tensors", tensors},
                      {"layout", layout}};
  if (scalars.is_object() && scalars.contains("config_hash")) m["config_hash"] = scalars["config_hash"];
  return m;
}

static void check_coverage(const std::string& path, const std::string& name, TensorEntry& entry) {
  std::sort(entry.pieces.begin(), entry.pieces.end(),
            [](const PieceRecord& a, const PieceRecord& b) { return a.row_begin < b.row_begin; });
  int64_t next = 0;
  for (const PieceRecord& p : entry.pieces) {
    if (p.row_begin != next)
      throw Error(ExitCode::bad_data, fmt::format("{}: tensor {}: rows {}..{} are {}", path, name, next, p.row_begin,
                                                  p.row_begin > next ? "missing" : "written twice"));
    next = p.row_end;
  }
  if (next != entry.global_shape[0])
    throw Error(ExitCode::bad_data, fmt::format("{}: tensor {}: rows {}..{} are missing", path, name, next,
                                                entry.global_shape[0]));
}

// The scalars the manifest states must agree with the directory it lies in and with each other: a step copied or
// edited into the wrong place is a broken step, not a different one.
static void check_scalars(const std::string& path, const std::string& step_dir, const Manifest& m) {
  auto broken = [&](const std::string& what) { return Error(ExitCode::bad_data, fmt::format("{}: {}", path, what)); };
  if (m.step < 0) throw broken(fmt::format("step {} is negative", m.step));
  if (m.world_size < 1) throw broken(fmt::format("world_size {} is not positive", m.world_size));
  std::string name = step_dir;
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  const auto named = parse_step_name(std::filesystem::path(name).filename().string());
  if (named && *named != m.step) throw broken(fmt::format("step {} differs from its directory's step {}", m.step, *named));
  if (m.scalars.is_object() && m.scalars.contains("step") && m.scalars["step"] != nlohmann::json(m.step))
    throw broken(fmt::format("scalars.step {} differs from the manifest's step {}", m.scalars["step"].dump(), m.step));
  for (const auto& [tensor, entry] : m.tensors)
    if (entry.pieces.empty()) throw broken(fmt::format("tensor {} has no pieces", tensor));
}

Manifest read_manifest(const std::string& step_dir) {
  const std::string path = step_dir + "/" + kManifestName;
  const std::string text = read_small_file(path);
  Manifest m;
  try {
    const auto j = nlohmann::json::parse(text);
    if (j.at("format").get<std::string>() != "sigma-ckpt" || j.at("format_version").get<int>() != kFormatVersion)
      throw std::runtime_error(fmt::format("expected format sigma-ckpt version {}", kFormatVersion));
    m.step = j.at("step").get<int64_t>();
    m.world_size = j.at("world_size").get<int>();
    m.scalars = j.at("scalars");
    for (const auto& [name, t] : j.at("tensors").items()) {
      TensorEntry& e = m.tensors[name];
      e.global_shape = t.at("global_shape").get<std::vector<int64_t>>();
      for (auto piece : t.at("pieces")) {
        piece["tensor"] = name;
        piece["global_shape"] = e.global_shape;
        e.pieces.push_back(piece_record_from_json(piece, path));
      }
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ExitCode::bad_data, fmt::format("{}: not a valid manifest: {}", path, e.what()));
  }
  check_scalars(path, step_dir, m);
  for (auto& [name, entry] : m.tensors) check_coverage(path, name, entry);
  return m;
}

}  // namespace sigma::ckpt
