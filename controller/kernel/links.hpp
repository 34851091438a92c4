// XDP links, one pinned per interface under PIN_DIR/links: attach (or
// swap the program of an existing link atomically), detach, and whether a
// link is still attached (another tool may have detached it).
#pragma once

#include "base/attachment.hpp"
#include "base/unique_fd.hpp"

#include <filesystem>
#include <string>

namespace pw {

class Links {
public:
    explicit Links(std::filesystem::path pin_dir) : pin_dir_(std::move(pin_dir)) {}

    // Attaches `prog` to a.ifname (filling in a.ifindex) and pins the link;
    // an interface that has prefixwall's link already gets the new program
    // by a link update (no gap). Throws Error with advice on failure.
    void attach(Attachment& a, const UniqueFd& prog) const;
    void detach(const std::string& ifname) const;
    bool attached(const std::string& ifname) const;
    // Detaches and unpins every link (detach --all --purge).
    void detach_all() const;

private:
    std::filesystem::path pin_dir_;
};

} // namespace pw
