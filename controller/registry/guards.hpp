// Guards against collateral damage: what a registry may not block.
// They apply to block entries (allow and monitor entries never drop a
// packet); each refusal is reported with the guard that made it.
#pragma once

#include "base/prefix.hpp"
#include "store/collateral.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pw {

struct GuardOptions {
    double max_removal = 0.5; // share of a source's entries one sync may remove
    bool force = false;       // override max_removal
    unsigned min_len_v4 = 8;  // refuse blocks broader than this
    unsigned min_len_v6 = 19;
    std::vector<Prefix> protect;        // --protect, on top of the built-ins
    bool protect_host_addresses = true; // this host's interface addresses
    bool allow_private = false;         // let private/reserved space in
    // The collateral guard (registry/collateral_guard.hpp): provider lists
    // ("[NAME=]FILE"), the space read from them, and how much of it one
    // version may newly block (IPv4 addresses, IPv6 /64s). force
    // overrides it too (logged).
    std::vector<std::string> collateral;
    std::shared_ptr<const ProviderSpace> providers;
    u128 max_collateral_v4 = 65536, max_collateral_v6 = 65536;
};

struct Refusal {
    Prefix prefix;
    std::string guard;  // min-prefix-len, protected, private
    std::string detail;
};

class Guards {
public:
    explicit Guards(const GuardOptions& o);
    // Why a block of `p` is refused, or nullopt when it may go in.
    std::optional<Refusal> check_block(const Prefix& p) const;

private:
    struct Span {
        Family family;
        unsigned __int128 first, last;
    };
    static Span span(const Prefix& p);
    static bool overlaps(const Span& a, const Span& b)
    {
        return a.family == b.family && a.first <= b.last && b.first <= a.last;
    }

    GuardOptions opts_;
    std::vector<std::pair<Prefix, std::string>> protected_; // prefix, why
    std::vector<std::pair<Prefix, std::string>> private_;
    std::vector<Span> protected_spans_, private_spans_;
};

// This host's interface addresses (getifaddrs), as /32 and /128 prefixes.
std::vector<Prefix> host_addresses();

} // namespace pw
