#include "harness.hpp"

#include "base/error.hpp"
#include "kernel/pin_dir.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>

namespace pwtest {
namespace fs = std::filesystem;

pw::Engine engine = pw::Engine::compiled;

std::string bpf_unavailable_reason()
{
    if (::geteuid() != 0)
        return "needs root (CAP_BPF, CAP_NET_ADMIN)";
    try {
        pw::check_kernel();
    } catch (const pw::Error& e) {
        return e.what();
    }
    LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
    int fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "pw_probe", 8, 4, 1, &o);
    if (fd < 0)
        return "the kernel refuses to create an LPM trie map (BPF disabled?)";
    ::close(fd);
    return "";
}

Harness::Harness(const pw::Capacity& cap, const std::string& state_dir) : cap_(cap)
{
    char tmpl[] = "/tmp/pw-bpftest-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    state_dir_ = state_dir.empty() ? (fs::path(root_) / "state").string() : state_dir;
    reopen();
}

void Harness::reopen()
{
    progs_.clear();
    ctl_.reset();
    pw::Paths paths{fs::path(root_) / "bpffs" / "pins", state_dir_};
    ctl_ = std::make_unique<pw::Controller>(paths, cap_, true);
    // Trie programs run here without an attachment: keep the tries anyway.
    ctl_->keep_tries(engine == pw::Engine::trie);
}

Harness::~Harness()
{
    progs_.clear();
    ctl_.reset();
    // ensure_pin_dir mounted a bpffs on the pin dir: unmounting frees it all.
    ::umount2((fs::path(root_) / "bpffs" / "pins").c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(root_, ec);
}

void Harness::add(const std::string& prefix, pw::Action action, const std::string& source)
{
    ctl_->commit({{pw::Prefix::parse(prefix), source, pw::Claim{action, ""}}});
}

uint32_t Harness::id(const std::string& prefix)
{
    auto r = ctl_->view().find(pw::Prefix::parse(prefix));
    return r ? r->id : 0;
}

int Harness::prog(const pw::ProgramSettings& settings)
{
    pw::ProgramSettings s = settings;
    s.engine = engine;
    for (auto& [k, fd] : progs_)
        if (k.match == s.match && k.dry_run == s.dry_run &&
            k.malformed_drop == s.malformed_drop && k.record_last == s.record_last &&
            k.reject_rate == s.reject_rate)
            return fd.get();
    progs_.emplace_back(s, dp().load_program(s));
    return progs_.back().second.get();
}

int Harness::run(const pw::ProgramSettings& s, const std::vector<uint8_t>& frame)
{
    std::vector<uint8_t> out;
    return run(s, frame, out);
}

int Harness::run(const pw::ProgramSettings& s, const std::vector<uint8_t>& frame,
                 std::vector<uint8_t>& out)
{
    out.assign(frame.size() + 256, 0);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                .data_out = out.data(), .data_size_in = static_cast<__u32>(frame.size()),
                .data_size_out = static_cast<__u32>(out.size()), .repeat = 1);
    int err = bpf_prog_test_run_opts(prog(s), &opts);
    if (err)
        return -errno;
    out.resize(opts.data_size_out);
    return static_cast<int>(opts.retval);
}

} // namespace pwtest
