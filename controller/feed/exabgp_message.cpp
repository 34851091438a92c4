#include "feed/exabgp_message.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

namespace pw {

using nlohmann::json;

namespace {

uint32_t parse_u32(std::string_view t, std::string_view whole)
{
    uint32_t v = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc() || end != t.data() + t.size())
        throw Error("bad community '" + std::string(whole) + "' (a:b or a:b:c, 32-bit numbers)");
    return v;
}

uint32_t as_u32(const json& j, const char* what)
{
    if (!j.is_number_unsigned() || j.get<uint64_t>() > UINT32_MAX)
        throw Error(std::string("bad ") + what + " " + j.dump());
    return j.get<uint32_t>();
}

// The families the data plane filters; others are skipped by name.
std::optional<Family> unicast_family(std::string_view name)
{
    if (name == "ipv4 unicast")
        return Family::v4;
    if (name == "ipv6 unicast")
        return Family::v6;
    return std::nullopt;
}

Prefix nlri_prefix(const json& item)
{
    // ExaBGP 4.2 writes { "nlri": "203.0.113.0/24" } (and path-id when
    // add-path is on); a plain string is read too.
    const json* text = &item;
    if (item.is_object()) {
        auto it = item.find("nlri");
        if (it == item.end())
            throw Error("route without \"nlri\": " + item.dump());
        text = &*it;
    }
    if (!text->is_string())
        throw Error("bad nlri " + text->dump());
    return Prefix::parse(text->get<std::string>());
}

void read_update(const json& u, FeedMessage& m)
{
    if (auto attr = u.find("attribute"); attr != u.end() && attr->is_object()) {
        if (auto c = attr->find("community"); c != attr->end())
            for (const auto& pair : *c) {
                if (!pair.is_array() || pair.size() != 2)
                    throw Error("bad community " + pair.dump());
                m.communities.push_back({false, as_u32(pair[0], "community"), as_u32(pair[1], "community"), 0});
            }
        if (auto c = attr->find("large-community"); c != attr->end())
            for (const auto& triple : *c) {
                if (!triple.is_array() || triple.size() != 3)
                    throw Error("bad large community " + triple.dump());
                m.communities.push_back({true, as_u32(triple[0], "large community"),
                                         as_u32(triple[1], "large community"),
                                         as_u32(triple[2], "large community")});
            }
    }
    if (auto ann = u.find("announce"); ann != u.end()) {
        if (!ann->is_object())
            throw Error("bad \"announce\": " + ann->dump().substr(0, 80));
        for (const auto& [family, by_next_hop] : ann->items()) {
            if (!unicast_family(family)) {
                m.other_families.push_back(family);
                continue;
            }
            if (!by_next_hop.is_object())
                throw Error("bad \"announce\" of " + family);
            // One route per prefix however many next hops carry it
            // (ExaBGP lists an IPv6 route under its global and its
            // link-local next hop).
            for (const auto& [next_hop, routes] : by_next_hop.items()) {
                if (!routes.is_array())
                    throw Error("bad routes of next hop " + next_hop);
                for (const auto& r : routes)
                    m.announced.push_back(nlri_prefix(r));
            }
        }
    }
    if (auto wd = u.find("withdraw"); wd != u.end()) {
        if (!wd->is_object())
            throw Error("bad \"withdraw\": " + wd->dump().substr(0, 80));
        for (const auto& [family, routes] : wd->items()) {
            if (!unicast_family(family)) {
                m.other_families.push_back(family);
                continue;
            }
            if (!routes.is_array())
                throw Error("bad \"withdraw\" of " + family);
            for (const auto& r : routes)
                m.withdrawn.push_back(nlri_prefix(r));
        }
    }
    for (auto* list : {&m.announced, &m.withdrawn}) {
        std::sort(list->begin(), list->end());
        list->erase(std::unique(list->begin(), list->end()), list->end());
    }
}

FeedMessage read_message(const json& j)
{
    if (!j.is_object())
        throw Error("not an ExaBGP message (a JSON object with an \"exabgp\" version)");
    auto version = j.find("exabgp");
    if (version == j.end() || !version->is_string())
        throw Error("not an ExaBGP message (no \"exabgp\" version)");
    if (version->get<std::string>() != kExabgpApiVersion)
        throw ApiVersionError("ExaBGP JSON API version " + version->get<std::string>() +
                              "; this prefixwall reads version " + std::string(kExabgpApiVersion) +
                              " (ExaBGP 4.2)");
    FeedMessage m;
    std::string type = j.value("type", "");
    if (auto n = j.find("neighbor"); n != j.end() && n->is_object()) {
        if (auto a = n->find("address"); a != n->end() && a->is_object())
            m.peer = a->value("peer", "");
        if (auto a = n->find("asn"); a != n->end() && a->is_object() && a->contains("peer"))
            m.peer_as = as_u32((*a)["peer"], "peer AS");
    }
    if (type == "state") {
        m.type = FeedMessage::Type::state;
        const json& n = j.at("neighbor");
        m.state = n.value("state", "");
        m.reason = n.value("reason", "");
        if (m.state.empty())
            throw Error("state message without a state");
        return m;
    }
    if (type == "notification") {
        // ExaBGP's own stop is {"notification": "shutdown"}; a peer's
        // NOTIFICATION is an object (code, subcode), followed by "down".
        auto n = j.find("notification");
        m.type = n != j.end() && n->is_string() && *n == "shutdown" ? FeedMessage::Type::shutdown
                                                                    : FeedMessage::Type::notification;
        return m;
    }
    if (type == "update") {
        const json& msg = j.at("neighbor").at("message");
        if (auto eor = msg.find("eor"); eor != msg.end()) {
            m.type = FeedMessage::Type::eor;
            m.eor_family = unicast_family(eor->value("afi", "") + " " + eor->value("safi", ""));
            return m;
        }
        m.type = FeedMessage::Type::update;
        if (auto u = msg.find("update"); u != msg.end())
            read_update(*u, m);
        return m;
    }
    // Types a process may receive and the feed has no use for.
    static const char* const known[] = {"open", "keepalive", "refresh", "operational", "signal", "negotiated", "fsm"};
    m.type = FeedMessage::Type::ignored;
    if (std::find(std::begin(known), std::end(known), type) == std::end(known))
        m.unknown_type = type.empty() ? "(none)" : type;
    return m;
}

} // namespace

Community Community::parse(std::string_view text)
{
    Community c;
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (size_t i = 0; i <= text.size(); i++)
        if (i == text.size() || text[i] == ':') {
            parts.push_back(text.substr(start, i - start));
            start = i + 1;
        }
    if (parts.size() != 2 && parts.size() != 3)
        throw Error("bad community '" + std::string(text) + "' (a:b or a:b:c)");
    c.large = parts.size() == 3;
    c.a = parse_u32(parts[0], text);
    c.b = parse_u32(parts[1], text);
    if (c.large)
        c.c = parse_u32(parts[2], text);
    else if (c.a > 0xffff || c.b > 0xffff)
        throw Error("bad community '" + std::string(text) + "' (a:b are 16-bit numbers)");
    return c;
}

std::string Community::to_string() const
{
    std::string s = std::to_string(a) + ":" + std::to_string(b);
    if (large)
        s += ":" + std::to_string(c);
    return s;
}

FeedMessage parse_exabgp_line(std::string_view line)
{
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded()) {
        std::string head(line.substr(0, 60));
        throw Error("malformed JSON: '" + head + (line.size() > 60 ? "...'" : "'"));
    }
    try {
        return read_message(j);
    } catch (const json::exception& e) {
        throw Error(std::string("unexpected ExaBGP message shape: ") + e.what());
    }
}

} // namespace pw
