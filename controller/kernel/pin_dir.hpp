// The pin directory: where the maps and links live on a BPF filesystem,
// mounted here if missing, and the lock that serialises prefixwall runs
// (flock on the directory, as xdp-tools does).
#pragma once

#include "base/unique_fd.hpp"

#include <filesystem>

namespace pw {

// Creates the pin directory (and mounts a BPF filesystem for it when it is
// not on one). Throws Error with the reason.
void ensure_pin_dir(const std::filesystem::path& dir);

// Exclusive lock on the pin directory for the lifetime of the object.
class PinDirLock {
public:
    explicit PinDirLock(const std::filesystem::path& dir);

private:
    UniqueFd fd_;
};

} // namespace pw
