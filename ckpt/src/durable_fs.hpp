// Filesystem steps that survive a crash: fsync of files and directories, write-then-rename of small files.
#pragma once

#include <string>

namespace sigma::ckpt {

void fsync_path(const std::string& path);  // file or directory; throws sigma::Error(internal) naming the path
void write_file_durably(const std::string& path, const std::string& contents);  // tmp + fsync + rename + fsync dir
std::string read_small_file(const std::string& path);  // throws sigma::Error(not_found) naming the path

}  // namespace sigma::ckpt
