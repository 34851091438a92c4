#include "base/error.hpp"
#include "store/rules.hpp"

#include <doctest/doctest.h>

using namespace pw;

namespace {
Prefix P(const char* s) { return Prefix::parse(s); }
Claim C(Action a, std::string comment = "") { return Claim{a, std::move(comment)}; }
} // namespace

TEST_CASE("a prefix listed by several sources is one rule with several sources")
{
    RuleSet rs;
    CHECK(rs.add(P("192.0.2.0/24"), "spamhaus", C(Action::block, "SBL1")) == EntryChange::insert);
    CHECK(rs.add(P("192.0.2.0/24"), "court", C(Action::block)) == EntryChange::none);
    REQUIRE(rs.size() == 1);
    auto r = rs.find(P("192.0.2.0/24"));
    REQUIRE(r);
    CHECK(r->sources() == std::vector<std::string>{"court", "spamhaus"});
    uint32_t id = r->id;

    // Removing one source's claim keeps the rule (and its id).
    CHECK(rs.remove(P("192.0.2.0/24"), "spamhaus") == EntryChange::none);
    r = rs.find(P("192.0.2.0/24"));
    REQUIRE(r);
    CHECK(r->id == id);
    CHECK(r->sources() == std::vector<std::string>{"court"});

    // The last claim takes the rule with it; the id is never reused.
    CHECK(rs.remove(P("192.0.2.0/24"), "court") == EntryChange::erase);
    CHECK(rs.size() == 0);
    rs.add(P("192.0.2.0/24"), "court", C(Action::block));
    CHECK(rs.find(P("192.0.2.0/24"))->id != id);
}

TEST_CASE("the derived action: allow beats block beats monitor")
{
    RuleSet rs;
    rs.add(P("2001:db8::/32"), "a", C(Action::monitor));
    CHECK(rs.find(P("2001:db8::/32"))->action() == Action::monitor);
    CHECK(rs.add(P("2001:db8::/32"), "b", C(Action::block)) == EntryChange::update);
    CHECK(rs.find(P("2001:db8::/32"))->action() == Action::block);
    CHECK(rs.add(P("2001:db8::/32"), "c", C(Action::allow)) == EntryChange::update);
    CHECK(rs.find(P("2001:db8::/32"))->action() == Action::allow);
    CHECK(rs.remove(P("2001:db8::/32"), "c") == EntryChange::update);
    CHECK(rs.find(P("2001:db8::/32"))->action() == Action::block);
}

TEST_CASE("remove without a source drops every claim; unknown prefixes are no-ops")
{
    RuleSet rs;
    rs.add(P("198.51.100.0/24"), "a", C(Action::block));
    rs.add(P("198.51.100.0/24"), "b", C(Action::block));
    CHECK(rs.remove(P("203.0.113.0/24"), "") == EntryChange::none);
    CHECK(rs.remove(P("198.51.100.0/24"), "zzz") == EntryChange::none);
    CHECK(rs.remove(P("198.51.100.0/24"), "") == EntryChange::erase);
    CHECK(rs.size() == 0);
}

TEST_CASE("longest match prefers the most specific prefix of the right family")
{
    RuleSet rs;
    rs.add(P("192.0.2.0/24"), "x", C(Action::block));
    rs.add(P("192.0.2.128/25"), "x", C(Action::allow));
    rs.add(P("192.0.2.130/32"), "x", C(Action::monitor));
    rs.add(P("2001:db8::/32"), "x", C(Action::block));
    auto lm = [&](const char* a) {
        auto r = rs.longest_match(Address::parse(a));
        return r ? r->prefix.to_string() : std::string("none");
    };
    CHECK(lm("192.0.2.1") == "192.0.2.0/24");
    CHECK(lm("192.0.2.129") == "192.0.2.128/25");
    CHECK(lm("192.0.2.130") == "192.0.2.130/32");
    CHECK(lm("192.0.3.1") == "none");
    CHECK(lm("2001:db8:ffff::1") == "2001:db8::/32");
    CHECK(lm("2001:db9::1") == "none");
    CHECK(rs.count(Family::v4) == 3);
    CHECK(rs.count(Family::v4, Action::block) == 1);
    CHECK(rs.count(Family::v6, Action::block) == 1);
}

TEST_CASE("actions parse by name only")
{
    CHECK(parse_action("allow") == Action::allow);
    CHECK(parse_action("reject") == Action::reject);
    CHECK_THROWS_WITH_AS(parse_action("deny"),
                         "bad action 'deny': expected block, reject, allow or monitor", Error);
}

TEST_CASE("a rule's action from its claims: allow, then block, then reject, then monitor")
{
    auto rule = [](std::initializer_list<Action> actions) {
        Rule r;
        int i = 0;
        for (Action a : actions)
            r.claims.emplace("s" + std::to_string(i++), Claim{a, ""});
        return r.action();
    };
    CHECK(rule({Action::reject}) == Action::reject);
    CHECK(rule({Action::reject, Action::monitor}) == Action::reject);
    CHECK(rule({Action::reject, Action::block}) == Action::block);
    CHECK(rule({Action::monitor, Action::reject, Action::allow}) == Action::allow);
    CHECK(rule({Action::monitor}) == Action::monitor);
    CHECK(stops_traffic(Action::reject));
    CHECK(stops_traffic(Action::block));
    CHECK_FALSE(stops_traffic(Action::monitor));
    // Reject took the count slot no other action used.
    CHECK(action_slot(Action::reject) == 0);
    CHECK(action_slot(Action::block) == 1);
}
