// Small helpers over the BPF map syscalls that every kernel-side class
// uses: map ids and sizes, opening a pinned map, creating and pinning one,
// reading an array in batches.
#pragma once

#include "base/unique_fd.hpp"

#include <bpf/bpf.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace pw {

uint32_t map_id(int fd);
uint32_t map_max_entries(int fd);

// Opens a pinned map; throws Error naming the path when it cannot.
UniqueFd open_pinned(const std::filesystem::path& path);
// Opens a pinned map, or returns an empty fd when there is none.
UniqueFd try_open_pinned(const std::filesystem::path& path);
// Creates a map and pins it at `path`; throws Error naming it.
UniqueFd create_pinned(const std::filesystem::path& path, bpf_map_type type, const char* name,
                       uint32_t key_size, uint32_t value_size, uint32_t entries,
                       const bpf_map_create_opts* opts);

// Which of two copies a one-slot outer map points at.
int active_of(int outer, const std::array<UniqueFd, 2>& copies, const std::string& what);
// Points a one-slot outer map at `inner`. The kernel waits for running
// programs (synchronize_rcu) before the update returns: after it, no
// packet uses the old copy.
void point_outer(int outer, int inner, const std::string& what);

// Reads keys 0..n-1 of an array map with batch lookups into a buffer
// that is not zeroed first (it is overwritten).
std::unique_ptr<uint8_t[]> read_array(int fd, uint32_t n, size_t value_size, const char* what);

} // namespace pw
