// A BPF array of 64-bit words (BPF_F_MMAPABLE) mapped into this process:
// the compiled engine's tables and results are read and written here at
// memory speed instead of one syscall per element.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace pw {

class MappedWords {
public:
    MappedWords() = default;
    // Maps `words` words of the array behind fd; check ok() afterwards.
    MappedWords(int fd, size_t words) : bytes_(words * sizeof(uint64_t))
    {
        void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        p_ = p == MAP_FAILED ? nullptr : static_cast<uint64_t*>(p);
    }
    MappedWords(MappedWords&& o) noexcept
        : p_(std::exchange(o.p_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
    MappedWords& operator=(MappedWords&& o) noexcept
    {
        if (this != &o) {
            unmap();
            p_ = std::exchange(o.p_, nullptr);
            bytes_ = std::exchange(o.bytes_, 0);
        }
        return *this;
    }
    MappedWords(const MappedWords&) = delete;
    MappedWords& operator=(const MappedWords&) = delete;
    ~MappedWords() { unmap(); }

    bool ok() const { return p_ != nullptr; }
    std::span<uint64_t> words() const { return {p_, p_ ? bytes_ / sizeof(uint64_t) : 0}; }

private:
    void unmap()
    {
        if (p_)
            ::munmap(p_, bytes_);
        p_ = nullptr;
    }
    uint64_t* p_ = nullptr;
    size_t bytes_ = 0;
};

} // namespace pw
