// Runs a program as a child with a deadline, the way root-run parts of sigma must: an absolute path (no PATH
// search, no shell), an explicit environment, stdin from /dev/null, no inherited descriptors, its own process
// group so that the whole group is killed (SIGKILL) when the deadline passes. The deadline covers the child's whole
// life, not only its output (a child that closes stdout and stderr and goes on running is still killed at it).
// A hung child never hangs the caller: one that SIGKILL cannot end within seconds (uninterruptible sleep in a
// driver or on a dead NFS server) is left behind, unreaped, and reported as such.
#pragma once

#include <string>
#include <vector>

namespace sigma {

struct ChildResult {
  int exit_code = -1;       // when it exited
  int signal = 0;           // when a signal ended it (SIGKILL after a timeout)
  bool timed_out = false;
  bool unreaped = false;    // timed out and still not gone 2 s after SIGKILL: left behind, not waited for
  double seconds = 0;
  std::string out;          // stdout, at most kMaxChildOutput bytes
  std::string err_tail;     // the last kMaxChildErrTail bytes of stderr
};

inline constexpr std::size_t kMaxChildOutput = 1 << 20;
inline constexpr std::size_t kMaxChildErrTail = 4096;

// argv[0] must be an absolute path; env is "NAME=value" entries. Throws sigma::Error(internal) when the child
// cannot be started (fork/pipe failure); a failed exec is exit code 127 with the reason in err_tail.
ChildResult run_child(const std::vector<std::string>& argv, const std::vector<std::string>& env, double timeout_s);

}  // namespace sigma
