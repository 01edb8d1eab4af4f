// Writing a file so that a crash leaves either the old or the new contents and root never writes through a
// link: the one way every sigma part that writes a whole file (checkpoint manifests, the Prometheus textfile,
// the healthcheck baseline, state records) or appends to one (the event ledger) does it.
// Whole files: an O_CREAT|O_EXCL|O_NOFOLLOW temp file beside the target, write, fsync, renameat, fsync of the
// directory. Appends: O_APPEND|O_NOFOLLOW, one write under flock, fsync; the lock is waited for at most a second
// (anyone who can open a file can flock it), then the line is written without it. An appended file is created
// 0600; one of the writer's own that others may read or write is made 0600, and root refuses one it does not own.
// The directory is opened with open_trusted_dir (trusted_path.hpp), so under root it must be one that no other
// user can write.
#pragma once

#include <string>

#include "sigma/core/exit_codes.hpp"

namespace sigma {

// Whether a whole-file replace waits for the disk. `fsync` (the default) syncs the file before the rename and the
// directory after it: the new contents survive a power loss. `atomic_only` keeps everything else (O_EXCL|O_NOFOLLOW
// temp file, rename: a reader sees the old or the new contents, never half, and no link is followed) but skips
// both fsyncs. Only for liveness files rewritten every step or second (heartbeats, the trainer's step metrics):
// after a crash a lost beat means nothing (the supervisor resets the directory for each attempt), while an fsync
// per training step would stall every rank on a slow shared filesystem.
enum class Durability { fsync, atomic_only };

// `dir_fd` is an open directory, `dir_path` its name for messages, `name` a file name in it (no '/').
// Throws sigma::Error naming the file and the failed step, with exit_code_for_errno's code and the errno.
void replace_file_at(int dir_fd, const std::string& dir_path, const std::string& name, const std::string& contents,
                     Durability durability = Durability::fsync);
// Appends never block on another process's lock (see above); a file root does not own is config.
void append_file_at(int dir_fd, const std::string& dir_path, const std::string& name, const std::string& text);

// The contract's code for a failed file operation: config for a path that cannot be written (read-only,
// forbidden, a link or a directory in the way, its filesystem full or over quota: ENOSPC, EDQUOT), not_found for
// a missing one, internal otherwise.
ExitCode exit_code_for_errno(int err);

// The same for a path: its directory is opened with open_trusted_dir first (its errors: config, not_found).
void write_file_durably(const std::string& path, const std::string& contents,
                        Durability durability = Durability::fsync);
void append_file_durably(const std::string& path, const std::string& text);

}  // namespace sigma
