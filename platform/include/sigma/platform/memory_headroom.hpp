// How much more memory this process may allocate, from every limit that applies: the node's MemAvailable
// (/proc/meminfo), the memory cgroup's limit (v2 or v1, as Slurm's task/cgroup sets it), and the process's
// RLIMIT_AS and RLIMIT_DATA (ulimit -v, -d). A program checks its footprint against these before allocating,
// so "too large for this machine" is one line with both figures instead of an out-of-memory kill.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sigma {

struct MemoryHeadroom {
  uint64_t bytes = 0;   // what may still be allocated under this limit
  std::string source;   // "MemAvailable (/proc/meminfo)", "the cgroup's memory limit (/sys/fs/cgroup/...)", ...
  bool per_process = false;  // an rlimit: each process has its own; otherwise shared by the node's processes
};

// Every limit that is set (an unlimited rlimit or cgroup is left out).
std::vector<MemoryHeadroom> memory_headroom();

// "MemAvailable:   123456 kB" in /proc/meminfo's text, in bytes; nullopt when the line is missing.
std::optional<uint64_t> parse_mem_available(std::string_view meminfo);

// The memory cgroup's limit less its usage: cgroup v2 ("0::/path": memory.max, memory.current) or v1 (the
// "memory" controller's line: memory.limit_in_bytes, memory.usage_in_bytes) under cgroup_root; nullopt when
// there is no limit or it cannot be read.
std::optional<MemoryHeadroom> cgroup_headroom(std::string_view proc_self_cgroup, const std::string& cgroup_root);

// "12.3 GiB", "512.0 MiB": for messages.
std::string format_bytes(uint64_t bytes);

}  // namespace sigma
