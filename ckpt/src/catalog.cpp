#include "sigma/ckpt/catalog.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "durable_fs.hpp"
#include "manifest.hpp"
#include "sigma/core/error.hpp"

namespace fs = std::filesystem;

namespace sigma::ckpt {
namespace {

uint64_t directory_bytes(const fs::path& dir) {
  uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) total += e.file_size();
  return total;
}

}  // namespace

std::string step_dir_name(int64_t step) { return fmt::format("step_{:08d}", step); }

std::optional<int64_t> parse_step_name(const std::string& name) {
  const std::string prefix = "step_";
  if (name.rfind(prefix, 0) != 0 || name.size() <= prefix.size()) return std::nullopt;
  int64_t step = 0;
  auto [end, ec] = std::from_chars(name.data() + prefix.size(), name.data() + name.size(), step);
  if (ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
  return step;
}

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
  // One line per damaged shard file (its first problem, then how many more): a missing or truncated shard
  // would otherwise give one line for each of its datasets.
  std::map<std::string, int> more_in_file;
  for (const auto& [name, entry] : m.tensors)
    for (const PieceRecord& p : entry.pieces) {
      try {
        verify_piece(step_dir, p);
      } catch (const Error& e) {
        if (more_in_file.count(p.file)) {
          ++more_in_file[p.file];
          continue;
        }
        more_in_file[p.file] = 0;
        note(e);
      }
    }
  for (const auto& [file, more] : more_in_file)
    if (more > 0) report.problems.push_back(fmt::format("{}/{}: {} more damaged datasets", step_dir, file, more));
  return report;
}

std::vector<std::string> prune_steps(const std::string& dir, int keep_last, int64_t keep_every) {
  const auto steps = list_steps(dir);
  const auto latest = latest_step(dir);
  // Newest first, every step is kept until keep_last of them verify: a broken step never counts, so the newest
  // step that verifies is never removed. Steps older than that window are removed without being read.
  std::set<int64_t> keep;
  int verified = 0;
  for (auto it = steps.rbegin(); it != steps.rend() && verified < std::max(keep_last, 1); ++it) {
    keep.insert(it->step);
    if (verify_step(it->path).verdict == ExitCode::ok) ++verified;
  }
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
