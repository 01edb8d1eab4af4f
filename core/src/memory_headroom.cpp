#include "sigma/core/memory_headroom.hpp"

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

// cgroup v2: "0::/path" in /proc/self/cgroup; memory.max less memory.current of that group.
void add_cgroup(std::vector<MemoryHeadroom>& out) {
  const auto self = read_text("/proc/self/cgroup");
  if (!self || self->rfind("0::", 0) != 0) return;
  std::string group = self->substr(3, self->find('\n') - 3);
  const std::string dir = "/sys/fs/cgroup" + (group == "/" ? "" : group);
  const auto max = read_text(dir + "/memory.max");
  const auto current = read_text(dir + "/memory.current");
  if (!max || !current) return;
  const auto limit = parse_number(*max), used = parse_number(*current);
  if (!limit || !used) return;  // "max": no limit
  out.push_back({minus(*limit, *used), fmt::format("cgroup memory.max ({}/memory.max)", dir), false});
}

}  // namespace

std::optional<uint64_t> parse_mem_available(std::string_view meminfo) {
  const auto kb = field_kb(meminfo, "MemAvailable:");
  if (!kb) return std::nullopt;
  return *kb * 1024;
}

std::vector<MemoryHeadroom> memory_headroom() {
  std::vector<MemoryHeadroom> out;
  if (const auto meminfo = read_text("/proc/meminfo"))
    if (const auto available = parse_mem_available(*meminfo))
      out.push_back({*available, "MemAvailable (/proc/meminfo)", false});
  add_cgroup(out);
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
