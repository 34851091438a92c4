// Where prefixwall keeps its two halves: the pinned maps and links (a BPF
// filesystem) and the state directory (rule metadata, attachments).
#pragma once

#include <cstddef>
#include <filesystem>

namespace pw {

struct Paths {
    std::filesystem::path pin_dir = "/sys/fs/bpf/prefixwall";
    std::filesystem::path state_dir = "/var/lib/prefixwall";
    // Room for the rule store (STATE/rules.mdb): address space reserved,
    // not disk taken (the file grows with the rules).
    size_t store_mb = 4096;
    // Versions of the rules the store keeps for history, diff and
    // rollback (0: none).
    size_t history_versions = 100;
};

} // namespace pw
