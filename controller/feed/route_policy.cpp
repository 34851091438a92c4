#include "feed/route_policy.hpp"

#include "base/error.hpp"

#include <algorithm>

namespace pw {

RoutePolicy::RoutePolicy() : rules_{{kBlackhole, Action::block}} {}

void RoutePolicy::add_rule(std::string_view text)
{
    auto eq = text.find('=');
    if (eq == std::string_view::npos)
        throw Error("bad community rule '" + std::string(text) + "' (COMMUNITY=block|monitor|allow)");
    CommunityRule r{Community::parse(text.substr(0, eq)), parse_action(std::string(text.substr(eq + 1)))};
    if (defaulted_) {
        rules_.clear();
        defaulted_ = false;
    }
    rules_.push_back(r);
}

std::optional<Action> RoutePolicy::action_for(const std::vector<Community>& communities) const
{
    if (every_)
        return every_;
    for (const auto& r : rules_)
        if (std::find(communities.begin(), communities.end(), r.community) != communities.end())
            return r.action;
    return std::nullopt;
}

std::string RoutePolicy::reference(const FeedMessage& m)
{
    std::string s = "peer " + m.peer + " AS" + std::to_string(m.peer_as);
    if (!m.communities.empty()) {
        s += " community";
        for (const auto& c : m.communities)
            s += " " + c.to_string();
    }
    return s;
}

std::string RoutePolicy::describe() const
{
    if (every_)
        return std::string("every route: ") + action_name(*every_);
    std::string s;
    for (const auto& r : rules_)
        s += (s.empty() ? "" : ", ") + r.community.to_string() + "=" + action_name(r.action);
    return s;
}

} // namespace pw
