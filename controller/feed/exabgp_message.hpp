// One line of ExaBGP's JSON API, as `prefixwall feed` reads it on stdin
// (ExaBGP runs the feed as its API process with `encoder json`,
// `receive { parsed; update; }` and `neighbor-changes`): session states,
// UPDATEs (routes announced and withdrawn, with their communities),
// end-of-RIB markers and the shutdown notice. Only the API version that
// ExaBGP 4.2 writes is read; any other is refused by name.
#pragma once

#include "base/error.hpp"
#include "base/prefix.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pw {

// The "exabgp" field of every message that this reader understands.
inline constexpr std::string_view kExabgpApiVersion = "4.0.1";

// A BGP community: standard (RFC 1997, a:b) or large (RFC 8092, a:b:c).
struct Community {
    bool large = false;
    uint32_t a = 0, b = 0, c = 0;

    // "65535:666" or "65000:1:2"; throws Error naming the text.
    static Community parse(std::string_view text);
    std::string to_string() const;
    bool operator==(const Community&) const = default;
};

// RFC 7999's BLACKHOLE community.
inline constexpr Community kBlackhole{false, 65535, 666, 0};

struct FeedMessage {
    enum class Type {
        state,        // the session: connected, up, down
        update,       // routes announced and withdrawn
        eor,          // end-of-RIB for one family
        shutdown,     // ExaBGP is stopping
        notification, // a BGP NOTIFICATION from the peer (a state follows)
        ignored,      // a message type the feed has no use for (open, keepalive...)
    };
    Type type = Type::ignored;
    std::string peer;      // the peer's address
    uint32_t peer_as = 0;
    std::string state;     // state: connected, up, down
    std::string reason;    // state down: why
    std::optional<Family> eor_family; // eor: unset for a family the feed does not read
    std::vector<Community> communities; // update: the attributes of every route announced
    std::vector<Prefix> announced;      // update: one per prefix, whatever the next hops
    std::vector<Prefix> withdrawn;
    std::vector<std::string> other_families; // update: families skipped (flow, vpn...)
    std::string unknown_type; // ignored: the type when the feed does not know it
};

// A stream in another API version: every line of it would be misread.
class ApiVersionError : public Error {
    using Error::Error;
};

// Throws Error with one line naming the problem: malformed JSON, not an
// ExaBGP message, an API version other than kExabgpApiVersion
// (ApiVersionError), a bad prefix or community.
FeedMessage parse_exabgp_line(std::string_view line);

} // namespace pw
