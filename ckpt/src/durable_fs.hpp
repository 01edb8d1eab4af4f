// Filesystem steps that survive a crash: fsync of files and directories, write-then-rename of small files
// (sigma::write_file_durably from core), bounded reads of small files.
#pragma once

#include <string>

#include "sigma/core/durable_file.hpp"

namespace sigma::ckpt {

// File or directory; throws sigma::Error naming the path, with exit_code_for_errno's code and the errno.
void fsync_path(const std::string& path);
// A regular file of at most 64 MiB; throws sigma::Error(not_found) when missing, bad_data when of the wrong kind.
std::string read_small_file(const std::string& path);

}  // namespace sigma::ckpt
