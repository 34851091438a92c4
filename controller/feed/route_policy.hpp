// What a route means: which communities make it block, monitor or allow
// (the first rule a route's communities match wins), or one action for
// every route; by default only RFC 7999's BLACKHOLE (65535:666) blocks.
// And the reference a route's claim carries: the peer, its AS and the
// communities, shown by `list` and `lookup`.
#pragma once

#include "base/vocabulary.hpp"
#include "feed/exabgp_message.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pw {

struct CommunityRule {
    Community community;
    Action action = Action::block;
};

class RoutePolicy {
public:
    // Only BLACKHOLE blocks.
    RoutePolicy();
    // "COMMUNITY=ACTION" (65535:666=block, 65000:1:2=monitor); throws
    // Error naming a bad one. Adding any replaces the default.
    void add_rule(std::string_view text);
    // Every route takes `a`, whatever its communities.
    void every_route(Action a) { every_ = a; }

    // The action of a route with these communities, or nullopt when the
    // route is not applied.
    std::optional<Action> action_for(const std::vector<Community>& communities) const;
    // "peer 192.0.2.1 AS65000 community 65535:666"
    static std::string reference(const FeedMessage& m);
    // One line for the log: what is applied.
    std::string describe() const;

private:
    std::vector<CommunityRule> rules_;
    bool defaulted_ = true;
    std::optional<Action> every_;
};

} // namespace pw
