// Replacing a file atomically: write a temporary beside it, fsync, rename,
// fsync the directory. Readers see the old or the new content, never a mix.
#pragma once

#include <filesystem>
#include <string>

namespace pw {

// Throws Error naming the file and the reason; the old file is untouched.
void write_file_atomic(const std::filesystem::path& path, const std::string& content,
                       unsigned mode = 0600);

} // namespace pw
