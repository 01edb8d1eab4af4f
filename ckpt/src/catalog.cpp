#include "sigma/ckpt/catalog.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "durable_fs.hpp"
#include "manifest.hpp"
#include "sigma/core/error.hpp"

namespace fs = std::filesystem;

namespace sigma::ckpt {
namespace {

std::optional<int64_t> parse_step_name(const std::string& name) {
  const std::string prefix = "step_";
  if (name.rfind(prefix, 0) != 0 || name.size() <= prefix.size()) return std::nullopt;
  int64_t step = 0;
  auto [end, ec] = std::from_chars(name.data() + prefix.size(), name.data() + name.size(), step);
  if (ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
  return step;
}

uint64_t directory_bytes(const fs::path& dir) {
  uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) total += e.file_size();
  return total;
}

}  // namespace

std::string step_dir_name(int64_t step) { return fmt::format("step_{:08d}", step); }

std::vector<StepEntry> list_steps(const std::string& dir) {
  std::vector<StepEntry> steps;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto step = parse_step_name(e.path().filename().string());
    if (step && e.is_directory()) steps.push_back({*step, e.path().string(), directory_bytes(e.path())});
  }
  std::sort(steps.begin(), steps.end(), [](const StepEntry& a, const StepEntry& b) { return a.step < b.step; });
  return steps;
}

std::optional<int64_t> latest_step(const std::string& dir) {
  std::string text;
  try {
    text = read_small_file(dir + "/latest");
  } catch (const Error&) {
    return std::nullopt;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return parse_step_name(text);
}

VerifyReport verify_step(const std::string& step_dir) {
  VerifyReport report;
  auto note = [&](const Error& e) {
    report.problems.push_back(e.what());
    if (report.verdict != ExitCode::bad_data) report.verdict = e.code() == ExitCode::not_found ? ExitCode::not_found
                                                                                               : ExitCode::bad_data;
  };
  Manifest m;
  try {
    m = read_manifest(step_dir);
  } catch (const Error& e) {
    note(e);
    return report;
  }
  for (const auto& [name, entry] : m.tensors)
    for (const PieceRecord& p : entry.pieces) {
      try {
        read_piece(step_dir, p);
      } catch (const Error& e) {
        note(e);
      }
    }
  return report;
}

std::vector<std::string> prune_steps(const std::string& dir, int keep_last, int64_t keep_every) {
  const auto steps = list_steps(dir);
  const auto latest = latest_step(dir);
  std::set<int64_t> keep;
  for (size_t i = steps.size() > static_cast<size_t>(std::max(keep_last, 0)) ? steps.size() - keep_last : 0;
       i < steps.size(); ++i)
    keep.insert(steps[i].step);
  if (latest) keep.insert(*latest);
  std::vector<std::string> removed;
  for (const StepEntry& s : steps) {
    if (keep.count(s.step) || (keep_every > 0 && s.step % keep_every == 0)) continue;
    fs::remove_all(s.path);
    removed.push_back(s.path);
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(".tmp_step_", 0) == 0 || name.rfind(".old_step_", 0) == 0) fs::remove_all(e.path());
  }
  if (!removed.empty()) fsync_path(dir);
  return removed;
}

}  // namespace sigma::ckpt
