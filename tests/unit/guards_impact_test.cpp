#include "registry/guards.hpp"
#include "store/impact.hpp"

#include <doctest/doctest.h>

using namespace pw;

namespace {
Prefix P(const char* s) { return Prefix::parse(s); }
std::string guard_of(const Guards& g, const char* p)
{
    auto r = g.check_block(P(p));
    return r ? r->guard : "ok";
}
} // namespace

TEST_CASE("guards refuse broad, protected and private blocks")
{
    GuardOptions o;
    o.protect_host_addresses = false;
    o.protect.push_back(P("203.0.113.0/28"));
    Guards g(o);
    CHECK(guard_of(g, "192.0.2.0/24") == "ok");
    CHECK(guard_of(g, "2001:db8::/32") == "ok");
    CHECK(guard_of(g, "4.0.0.0/7") == "min-prefix-len");
    CHECK(guard_of(g, "2001::/16") == "min-prefix-len");
    CHECK(guard_of(g, "127.0.0.0/8") == "protected");
    CHECK(guard_of(g, "127.0.0.1") == "protected");
    CHECK(guard_of(g, "fe80::/64") == "protected");
    CHECK(guard_of(g, "224.0.0.0/8") == "protected");
    CHECK(guard_of(g, "203.0.113.0/24") == "protected"); // contains a --protect prefix
    CHECK(guard_of(g, "203.0.113.4/30") == "protected"); // inside one
    CHECK(guard_of(g, "203.0.113.16/28") == "ok");
    CHECK(guard_of(g, "10.0.0.0/8") == "private");
    CHECK(guard_of(g, "192.168.1.0/24") == "private");
    CHECK(guard_of(g, "fd00:1::/48") == "private");
    auto r = g.check_block(P("10.1.0.0/16"));
    REQUIRE(r);
    CHECK(r->detail == "overlaps 10.0.0.0/8 (private or reserved; --allow-private)");

    o.allow_private = true;
    o.min_len_v4 = 4;
    Guards lax(o);
    CHECK(guard_of(lax, "10.0.0.0/8") == "ok");
    CHECK(guard_of(lax, "4.0.0.0/7") == "ok");
    CHECK(guard_of(lax, "127.0.0.0/8") == "protected"); // never overridable by a registry
}

TEST_CASE("this host's addresses are protected")
{
    auto addrs = host_addresses();
    bool has_loopback = false;
    for (const auto& a : addrs)
        has_loopback |= a.to_string() == "127.0.0.1/32";
    CHECK(has_loopback);
}

TEST_CASE("blocked addresses follow longest-prefix semantics")
{
    RuleSet rs;
    auto add = [&](const char* p, Action a) { rs.add(P(p), "t", Claim{a, ""}); };
    add("192.0.2.0/24", Action::block);
    add("192.0.2.128/25", Action::allow);
    add("192.0.2.192/26", Action::block);   // block inside the allow inside the block
    add("198.51.100.0/24", Action::monitor);
    add("198.51.100.7/32", Action::block);
    add("203.0.113.0/25", Action::block);
    add("203.0.113.128/25", Action::block); // adjacent: merged
    add("2001:db8::/48", Action::block);
    add("2001:db8::/64", Action::allow);

    auto v4 = blocked_ranges(rs, Family::v4);
    CHECK(count_units(v4) == 128 + 64 + 1 + 256);
    REQUIRE(v4.size() == 4);
    CHECK(v4[3].last - v4[3].first + 1 == 256); // the two /25s merged

    auto v6 = blocked_ranges(rs, Family::v6);
    CHECK(count_units(v6, 64) == 65535);

    RuleSet after = rs;
    after.add(P("198.51.100.0/24"), "t2", Claim{Action::block, ""});
    after.remove(P("203.0.113.0/25"), "");
    auto fresh = difference(blocked_ranges(after, Family::v4), v4);
    CHECK(count_units(fresh) == 255);
    CHECK(to_string(count_units(blocked_ranges(after, Family::v4))) == std::to_string(128 + 64 + 256 + 128));
    CHECK(to_string(static_cast<u128>(1) << 100) == "1267650600228229401496703205376");
}
