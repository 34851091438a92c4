#include "kernel/pin_dir.hpp"

#include "base/error.hpp"
#include "kernel/pin_layout.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/vfs.h>

namespace pw {
namespace fs = std::filesystem;

namespace {

bool on_bpffs(const fs::path& p)
{
    struct statfs st {};
    return ::statfs(p.c_str(), &st) == 0 &&
           static_cast<unsigned long>(st.f_type) == BPF_FS_MAGIC;
}

void mount_bpffs(const fs::path& where)
{
    if (::mount("bpf", where.c_str(), "bpf", 0, "mode=0700") != 0)
        throw sys_error("cannot mount a BPF filesystem on " + where.string(), errno);
}

} // namespace

void ensure_pin_dir(const fs::path& dir)
{
    std::error_code ec;
    fs::path parent = dir.parent_path();
    // The usual case: /sys/fs/bpf exists but nothing is mounted on it yet.
    if (parent == "/sys/fs/bpf" && fs::is_directory(parent) && !on_bpffs(parent))
        mount_bpffs(parent);
    fs::create_directories(dir, ec);
    if (ec)
        throw Error("pin directory " + dir.string() + ": " + ec.message());
    if (!on_bpffs(dir))
        mount_bpffs(dir);
    for (const fs::path& sub : {maps_dir(dir), links_dir(dir)}) {
        fs::create_directories(sub, ec);
        if (ec)
            throw Error("pin directory " + sub.string() + ": " + ec.message());
    }
}

PinDirLock::PinDirLock(const fs::path& dir)
    : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC))
{
    if (!fd_)
        throw sys_error("cannot open pin directory " + dir.string(), errno);
    if (::flock(fd_.get(), LOCK_EX) != 0)
        throw sys_error("cannot lock pin directory " + dir.string(), errno);
}

} // namespace pw
