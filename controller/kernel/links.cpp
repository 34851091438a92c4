#include "kernel/links.hpp"

#include "base/error.hpp"
#include "kernel/pin_layout.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

namespace pw {
namespace fs = std::filesystem;

void Links::attach(Attachment& a, const UniqueFd& prog) const
{
    unsigned ifindex = if_nametoindex(a.ifname.c_str());
    if (ifindex == 0)
        throw Error("interface '" + a.ifname + "' not found");
    a.ifindex = static_cast<int>(ifindex);
    fs::path lp = link_path(pin_dir_, a.ifname);

    if (fs::exists(lp)) {
        UniqueFd link(bpf_obj_get(lp.c_str()));
        if (link) {
            bpf_link_info info{};
            uint32_t len = sizeof(info);
            if (bpf_obj_get_info_by_fd(link.get(), &info, &len) == 0 &&
                info.xdp.ifindex == ifindex) {
                // Same interface: swap the program atomically, no gap.
                if (bpf_link_update(link.get(), prog.get(), nullptr) != 0)
                    throw sys_error("cannot update the program on " + a.ifname, errno);
                return;
            }
        }
        ::unlink(lp.c_str()); // stale: the interface went away
    }

    LIBBPF_OPTS(bpf_link_create_opts, opts);
    opts.flags = a.mode == XdpMode::native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
    UniqueFd link(bpf_link_create(prog.get(), ifindex, BPF_XDP, &opts));
    if (!link) {
        int err = errno;
        if (a.mode == XdpMode::native && (err == EOPNOTSUPP || err == EINVAL))
            throw Error("native XDP not supported by " + a.ifname + ": try --mode generic");
        if (err == EBUSY || err == EEXIST)
            throw Error(a.ifname +
                        " already has an XDP program that is not prefixwall's"
                        " (see 'ip link show " + a.ifname + "'); detach it first");
        throw sys_error("cannot attach to " + a.ifname, err);
    }
    if (bpf_obj_pin(link.get(), lp.c_str()) != 0) {
        int err = errno;
        bpf_link_detach(link.get());
        throw sys_error("cannot pin the link of " + a.ifname + " at " + lp.string(), err);
    }
}

void Links::detach(const std::string& ifname) const
{
    fs::path lp = link_path(pin_dir_, ifname);
    UniqueFd link(bpf_obj_get(lp.c_str()));
    if (!link)
        throw Error("'" + ifname + "' is not attached (no link pinned at " + lp.string() + ")");
    bpf_link_detach(link.get());
    ::unlink(lp.c_str());
}

bool Links::attached(const std::string& ifname) const
{
    UniqueFd link(bpf_obj_get(link_path(pin_dir_, ifname).c_str()));
    if (!link)
        return false;
    bpf_link_info info{};
    uint32_t len = sizeof(info);
    return bpf_obj_get_info_by_fd(link.get(), &info, &len) == 0 && info.xdp.ifindex != 0;
}

void Links::detach_all() const
{
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(links_dir(pin_dir_), ec)) {
        UniqueFd link(bpf_obj_get(e.path().c_str()));
        if (link)
            bpf_link_detach(link.get());
        fs::remove(e.path(), ec);
    }
}

} // namespace pw
