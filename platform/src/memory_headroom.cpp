#include "sigma/platform/memory_headroom.hpp"

#include <sys/resource.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace sigma {
namespace {

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The number after `key` in "key   value kB" lines (/proc/self/status, /proc/meminfo), in kB.
std::optional<uint64_t> field_kb(std::string_view text, std::string_view key) {
  const size_t at = text.find(key);
  if (at == std::string_view::npos || (at > 0 && text[at - 1] != '\n')) return std::nullopt;
  size_t begin = text.find_first_of("0123456789", at + key.size());
  if (begin == std::string_view::npos) return std::nullopt;
  uint64_t value = 0;
  if (std::from_chars(text.data() + begin, text.data() + text.size(), value).ec != std::errc()) return std::nullopt;
  return value;
}

std::optional<uint64_t> parse_number(const std::string& text) {
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || (end != text.data() + text.size() && *end != '\n')) return std::nullopt;
  return value;
}

uint64_t minus(uint64_t limit, uint64_t used) { return limit > used ? limit - used : 0; }

// A process limit less what the process already holds (VmSize counts against RLIMIT_AS, VmData against
// RLIMIT_DATA).
void add_rlimit(std::vector<MemoryHeadroom>& out, int resource, const char* name, std::string_view status_key) {
  rlimit limit{};
  if (getrlimit(resource, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
  const auto status = read_text("/proc/self/status");
  const uint64_t used = status ? field_kb(*status, status_key).value_or(0) * 1024 : 0;
  out.push_back({minus(limit.rlim_cur, used), name, true});
}

// limit less usage, both files of one cgroup directory; nullopt when unreadable or unlimited.
std::optional<uint64_t> group_headroom(const std::string& dir, const char* limit_file, const char* usage_file) {
  constexpr uint64_t kUnlimited = uint64_t{1} << 62;  // cgroup v1 says "no limit" with a number near 2^63
  const auto limit_text = read_text(dir + "/" + limit_file), usage_text = read_text(dir + "/" + usage_file);
  if (!limit_text || !usage_text) return std::nullopt;
  const auto limit = parse_number(*limit_text), usage = parse_number(*usage_text);
  if (!limit || !usage || *limit >= kUnlimited) return std::nullopt;  // v2 writes "max" for no limit
  return minus(*limit, *usage);
}

}  // namespace

std::optional<uint64_t> parse_mem_available(std::string_view meminfo) {
  const auto kb = field_kb(meminfo, "MemAvailable:");
  if (!kb) return std::nullopt;
  return *kb * 1024;
}

std::optional<MemoryHeadroom> cgroup_headroom(std::string_view proc_self_cgroup, const std::string& cgroup_root) {
  std::istringstream lines{std::string(proc_self_cgroup)};
  for (std::string line; std::getline(lines, line);) {
    const size_t first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1), group = line.substr(second + 1);
    const std::string path = group == "/" ? "" : group;
    std::optional<uint64_t> bytes;
    std::string dir;
    if (line.rfind("0::", 0) == 0) {
      dir = cgroup_root + path;
      bytes = group_headroom(dir, "memory.max", "memory.current");
    } else if (controllers == "memory") {
      dir = cgroup_root + "/memory" + path;
      bytes = group_headroom(dir, "memory.limit_in_bytes", "memory.usage_in_bytes");
    }
    if (bytes) return MemoryHeadroom{*bytes, fmt::format("the cgroup's memory limit ({})", dir), false};
  }
  return std::nullopt;
}

std::vector<MemoryHeadroom> memory_headroom() {
  std::vector<MemoryHeadroom> out;
  if (const auto meminfo = read_text("/proc/meminfo"))
    if (const auto available = parse_mem_available(*meminfo))
      out.push_back({*available, "MemAvailable (/proc/meminfo)", false});
  if (const auto self = read_text("/proc/self/cgroup"))
    if (auto group = cgroup_headroom(*self, "/sys/fs/cgroup")) out.push_back(std::move(*group));
  add_rlimit(out, RLIMIT_AS, "RLIMIT_AS (ulimit -v)", "VmSize:");
  add_rlimit(out, RLIMIT_DATA, "RLIMIT_DATA (ulimit -d)", "VmData:");
  return out;
}

std::string format_bytes(uint64_t bytes) {
  constexpr double kMiB = 1024.0 * 1024.0, kGiB = kMiB * 1024.0;
  if (bytes >= 1024ull * 1024 * 1024) return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / kGiB);
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / kMiB);
}

}  // namespace sigma
