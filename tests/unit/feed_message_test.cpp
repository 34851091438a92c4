// ExaBGP's JSON API as the feed reads it: a session captured from ExaBGP
// 4.2 fed by BIRD 2 (tests/fixtures/exabgp-4.2-session.jsonl), the errors
// a bad line gets, the communities and what they mean, and the export a
// route server includes.
#include "feed/bird_export.hpp"
#include "feed/exabgp_message.hpp"
#include "feed/route_policy.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

using namespace pw;
using T = FeedMessage::Type;

namespace {

std::vector<std::string> fixture_lines()
{
    std::ifstream in(PW_FIXTURES_DIR "/exabgp-4.2-session.jsonl");
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);)
        out.push_back(l);
    return out;
}

std::string error_of(const std::string& line)
{
    try {
        parse_exabgp_line(line);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("feed: a session as ExaBGP 4.2 writes it")
{
    auto lines = fixture_lines();
    REQUIRE(lines.size() == 12);
    std::vector<FeedMessage> m;
    for (const auto& l : lines)
        m.push_back(parse_exabgp_line(l));

    CHECK(m[0].type == T::state);
    CHECK(m[0].state == "connected");
    CHECK(m[1].state == "up");
    CHECK(m[1].peer == "192.0.2.1");
    CHECK(m[1].peer_as == 65000);

    // A route without communities, then BLACKHOLE ones.
    CHECK(m[2].type == T::update);
    CHECK(m[2].announced == std::vector{Prefix::parse("198.51.100.128/25")});
    CHECK(m[2].communities.empty());
    CHECK(m[3].communities == std::vector{kBlackhole});
    CHECK(m[4].announced == std::vector{Prefix::parse("203.0.113.0/24")});
    CHECK(m[4].communities == std::vector<Community>{kBlackhole, Community{true, 65000, 1, 2}});

    // End-of-RIB comes per family; IPv6's route is listed under its global
    // and its link-local next hop, and is one route.
    CHECK(m[5].type == T::eor);
    CHECK(m[5].eor_family == Family::v4);
    CHECK(m[6].announced == std::vector{Prefix::parse("2001:db8:100::/48")});
    CHECK(m[7].eor_family == Family::v6);

    CHECK(m[8].withdrawn == std::vector{Prefix::parse("2001:db8:100::/48")});
    CHECK(m[8].announced.empty());
    CHECK(m[9].type == T::notification);
    CHECK(m[10].state == "down");
    CHECK(m[10].reason.find("Administrative Shutdown") != std::string::npos);
    CHECK(m[11].type == T::shutdown);
}

TEST_CASE("feed: bad lines are one-line errors naming the problem")
{
    CHECK(error_of("{\"exabgp\": \"4.0.1\", \"type\": ").rfind("malformed JSON", 0) == 0);
    CHECK(error_of("[1, 2]").find("not an ExaBGP message") != std::string::npos);
    CHECK(error_of("{\"type\": \"update\"}").find("no \"exabgp\" version") != std::string::npos);

    std::string v5 = R"({"exabgp": "5.0.0", "type": "state", "neighbor": {"state": "up"}})";
    CHECK_THROWS_AS(parse_exabgp_line(v5), ApiVersionError);
    CHECK(error_of(v5) == "ExaBGP JSON API version 5.0.0; this prefixwall reads version 4.0.1 (ExaBGP 4.2)");

    std::string bad_prefix = R"({"exabgp": "4.0.1", "type": "update", "neighbor": {"message": {"update":
        {"announce": {"ipv4 unicast": {"192.0.2.1": [{"nlri": "203.0.113.0/33"}]}}}}}})";
    CHECK(error_of(bad_prefix).find("203.0.113.0/33") != std::string::npos);
    std::string bad_community = R"({"exabgp": "4.0.1", "type": "update", "neighbor": {"message": {"update":
        {"attribute": {"community": [[65535]]}}}}})";
    CHECK(error_of(bad_community).find("bad community") != std::string::npos);
    std::string no_message = R"({"exabgp": "4.0.1", "type": "update", "neighbor": {}})";
    CHECK(error_of(no_message).find("unexpected ExaBGP message shape") != std::string::npos);
}

TEST_CASE("feed: unknown types are named, known ones ignored, other families skipped")
{
    auto m = parse_exabgp_line(R"({"exabgp": "4.0.1", "type": "bogus"})");
    CHECK(m.type == T::ignored);
    CHECK(m.unknown_type == "bogus");
    m = parse_exabgp_line(R"({"exabgp": "4.0.1", "type": "keepalive"})");
    CHECK(m.type == T::ignored);
    CHECK(m.unknown_type.empty());
    m = parse_exabgp_line(R"({"exabgp": "4.0.1", "type": "update", "neighbor": {"message": {"update":
        {"announce": {"ipv4 flow": {"no-nexthop": [{"destination-ipv4": ["203.0.113.0/24"]}]},
                      "ipv4 unicast": {"192.0.2.1": [{"nlri": "203.0.113.0/24"}, "198.51.100.0/24"]}}}}}})");
    CHECK(m.other_families == std::vector<std::string>{"ipv4 flow"});
    CHECK(m.announced == std::vector{Prefix::parse("198.51.100.0/24"), Prefix::parse("203.0.113.0/24")});
}

TEST_CASE("feed: communities and what a route means")
{
    CHECK(Community::parse("65535:666") == kBlackhole);
    CHECK(Community::parse("4200000000:1:2") == Community{true, 4200000000u, 1, 2});
    CHECK(Community::parse("65000:1:2").to_string() == "65000:1:2");
    CHECK_THROWS_WITH_AS(Community::parse("70000:1"), "bad community '70000:1' (a:b are 16-bit numbers)", Error);
    CHECK_THROWS_AS(Community::parse("1:x"), Error);
    CHECK_THROWS_AS(Community::parse("1"), Error);

    RoutePolicy def;
    CHECK(def.action_for({kBlackhole}) == Action::block);
    CHECK_FALSE(def.action_for({}).has_value());
    CHECK_FALSE(def.action_for({Community{false, 65000, 1, 0}}).has_value());

    RoutePolicy p;
    p.add_rule("65000:100=monitor");
    p.add_rule("65000:1:2=allow");
    p.add_rule("65000:200=block");
    CHECK_FALSE(p.action_for({kBlackhole}).has_value()); // rules given: the default is replaced
    CHECK(p.action_for({Community{false, 65000, 100, 0}}) == Action::monitor);
    CHECK(p.action_for({Community{true, 65000, 1, 2}, Community{false, 65000, 200, 0}}) == Action::allow);
    CHECK(p.describe() == "65000:100=monitor, 65000:1:2=allow, 65000:200=block");
    CHECK_THROWS_AS(p.add_rule("65000:1"), Error);
    CHECK_THROWS_AS(p.add_rule("65000:1=drop"), Error);

    RoutePolicy all;
    all.every_route(Action::block);
    CHECK(all.action_for({}) == Action::block);

    FeedMessage m;
    m.peer = "192.0.2.1";
    m.peer_as = 65000;
    m.communities = {kBlackhole};
    CHECK(RoutePolicy::reference(m) == "peer 192.0.2.1 AS65000 community 65535:666");
}

TEST_CASE("export: a source's blocks as BIRD 2 static routes")
{
    SortedEntries e{{Prefix::parse("203.0.113.0/24"), "SBL1", Action::block},
                    {Prefix::parse("203.0.113.8/32"), "", Action::allow},
                    {Prefix::parse("2001:db8::/48"), "", Action::block}};
    std::ostringstream out;
    auto n = write_bird_static(out, e, {"drop-list", kBlackhole});
    CHECK(n.v4 == 1);
    CHECK(n.v6 == 1);
    CHECK(n.skipped == 1);
    std::string s = out.str();
    CHECK(s.find("protocol static prefixwall_drop_list_v4 {\n  ipv4;\n"
                 "  route 203.0.113.0/24 blackhole { bgp_community.add((65535, 666)); };\n}\n") != std::string::npos);
    CHECK(s.find("protocol static prefixwall_drop_list_v6 {\n  ipv6;\n"
                 "  route 2001:db8::/48 blackhole { bgp_community.add((65535, 666)); };\n}\n") != std::string::npos);
    CHECK(s.find("203.0.113.8") == std::string::npos);

    std::ostringstream large;
    write_bird_static(large, e, {"x", Community{true, 65000, 666, 1}});
    CHECK(large.str().find("bgp_large_community.add((65000, 666, 1));") != std::string::npos);
}
