// Where prefixwall keeps its two halves: the pinned maps and links (a BPF
// filesystem) and the state directory (rule metadata, attachments).
#pragma once

#include <filesystem>

namespace pw {

struct Paths {
    std::filesystem::path pin_dir = "/sys/fs/bpf/prefixwall";
    std::filesystem::path state_dir = "/var/lib/prefixwall";
};

} // namespace pw
