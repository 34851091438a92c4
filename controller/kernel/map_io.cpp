#include "kernel/map_io.hpp"

#include "base/error.hpp"

#include <cerrno>

namespace pw {

uint32_t map_id(int fd)
{
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

uint32_t map_max_entries(int fd)
{
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
        return 0;
    return info.max_entries;
}

UniqueFd open_pinned(const std::filesystem::path& path)
{
    UniqueFd fd(bpf_obj_get(path.c_str()));
    if (!fd)
        throw sys_error("cannot open pinned map " + path.string(), errno);
    return fd;
}

UniqueFd try_open_pinned(const std::filesystem::path& path)
{
    return UniqueFd(bpf_obj_get(path.c_str()));
}

UniqueFd create_pinned(const std::filesystem::path& path, bpf_map_type type, const char* name,
                       uint32_t key_size, uint32_t value_size, uint32_t entries,
                       const bpf_map_create_opts* opts)
{
    UniqueFd fd(bpf_map_create(type, name, key_size, value_size, entries, opts));
    if (!fd)
        throw sys_error(std::string("cannot create ") + name, errno);
    if (bpf_obj_pin(fd.get(), path.c_str()) != 0)
        throw sys_error("cannot pin " + path.string(), errno);
    return fd;
}

int active_of(int outer, const std::array<UniqueFd, 2>& copies, const std::string& what)
{
    uint32_t zero = 0, inner_id = 0;
    if (bpf_map_lookup_elem(outer, &zero, &inner_id) != 0)
        throw sys_error("reading " + what, errno);
    for (int copy : {0, 1})
        if (map_id(copies[copy].get()) == inner_id)
            return copy;
    throw Error(what + " points at a map that is not pinned with it");
}

void point_outer(int outer, int inner, const std::string& what)
{
    uint32_t zero = 0;
    if (bpf_map_update_elem(outer, &zero, &inner, BPF_ANY) != 0)
        throw sys_error("cannot switch " + what, errno);
}

std::unique_ptr<uint8_t[]> read_array(int fd, uint32_t n, size_t value_size, const char* what)
{
    std::unique_ptr<uint8_t[]> values(new uint8_t[static_cast<size_t>(n) * value_size]);
    std::unique_ptr<uint32_t[]> keys(new uint32_t[n]);
    uint32_t done = 0, out_batch = 0;
    bool first = true;
    while (done < n) {
        uint32_t count = n - done;
        int err = bpf_map_lookup_batch(fd, first ? nullptr : &out_batch, &out_batch, keys.get() + done,
                                       values.get() + done * value_size, &count, nullptr);
        first = false;
        done += count;
        if (err != 0) {
            if (errno == ENOENT)
                break; // end of map
            throw sys_error(std::string("reading ") + what, errno);
        }
    }
    return values;
}

} // namespace pw
