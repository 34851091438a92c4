// L4 scopes: parsing and text, the match (as the data plane makes it),
// which claim's scope a rule takes, the reference lookup's fall-through,
// and the rule store's round trip of scoped claims.
#include "base/error.hpp"
#include "base/scope.hpp"
#include "store/rule_db.hpp"
#include "store/rules.hpp"

#include <doctest/doctest.h>

#include <filesystem>

using namespace pw;

TEST_CASE("scope: parse, text and the errors")
{
    CHECK(Scope::parse("", "", "").to_string() == "");
    CHECK(Scope::parse("tcp", "443,8000-8080", "").to_string() == "tcp/443,8000-8080");
    CHECK(Scope::parse("udp", "53", "1024-65535").to_string() == "udp/53 sport 1024-65535");
    CHECK(Scope::parse("icmpv6", "", "").to_string() == "icmpv6");
    for (const char* t : {"tcp/443,8000-8080", "udp/53 sport 1024-65535", "icmp", "udp sport 53"})
        CHECK(Scope::parse_text(t).to_string() == t);
    CHECK_THROWS_WITH_AS(Scope::parse("", "443", ""), doctest::Contains("a port needs a protocol"), Error);
    CHECK_THROWS_WITH_AS(Scope::parse("sctp", "", ""), doctest::Contains("bad protocol 'sctp'"), Error);
    CHECK_THROWS_WITH_AS(Scope::parse("icmp", "1", ""), doctest::Contains("ports need tcp or udp"), Error);
    CHECK_THROWS_WITH_AS(Scope::parse("tcp", "0", ""), doctest::Contains("bad port '0'"), Error);
    CHECK_THROWS_WITH_AS(Scope::parse("tcp", "70000", ""), doctest::Contains("bad port"), Error);
    CHECK_THROWS_WITH_AS(Scope::parse("tcp", "90-80", ""), doctest::Contains("low to high"), Error);
    CHECK_THROWS_WITH_AS(Scope::parse("tcp", "1,2,3,4,5", ""), doctest::Contains("at most 4"), Error);
    CHECK_THROWS_WITH_AS(Scope::parse("tcp", "", "1-2-3"), doctest::Contains("bad source port"), Error);
    CHECK_THROWS_WITH_AS(Scope::parse("icmp", "", "").check_family(Prefix::parse("2001:db8::/32")),
                         doctest::Contains("icmp is IPv4's"), Error);
    CHECK_NOTHROW(Scope::parse("icmpv6", "", "").check_family(Prefix::parse("2001:db8::/32")));
    Scope s = Scope::parse("tcp", "443,8000-8080", "1024-2048");
    CHECK(Scope::from_abi(s.to_abi()) == s);
}

TEST_CASE("scope: which packets fit")
{
    Scope none, tcp = Scope::parse("tcp", "", ""), web = Scope::parse("tcp", "443,8000-8080", ""),
                dns = Scope::parse("udp", "53", "1024-65535");
    L4 syn443{6, true, 40000, 443}, syn80{6, true, 40000, 80}, frag{6, false, 0, 0}, icmp{1, false, 0, 0};
    CHECK(none.fits(icmp));
    CHECK(tcp.fits(syn80));
    CHECK(tcp.fits(frag)); // no port in the scope: a later fragment fits by protocol
    CHECK_FALSE(tcp.fits(icmp));
    CHECK(web.fits(syn443));
    CHECK(web.fits(L4{6, true, 1, 8000}));
    CHECK(web.fits(L4{6, true, 1, 8080}));
    CHECK_FALSE(web.fits(L4{6, true, 1, 8081}));
    CHECK_FALSE(web.fits(syn80));
    CHECK_FALSE(web.fits(frag)); // a port scope never fits a later fragment
    CHECK(dns.fits(L4{17, true, 5353, 53}));
    CHECK_FALSE(dns.fits(L4{17, true, 53, 53}));
    CHECK_FALSE(dns.fits(L4{6, true, 5353, 53}));
}

TEST_CASE("scope: a rule's scoped part; the reference falls through")
{
    RuleSet rs;
    const Prefix p24 = Prefix::parse("192.0.2.0/24"), p25 = Prefix::parse("192.0.2.0/25");
    rs.add(p24, "a", Claim{Action::block, "", {}});
    CHECK(rs.add(p25, "a", Claim{Action::block, "", Scope::parse("tcp", "443", "")}) == EntryChange::insert);
    CHECK(rs.get(p25)->scoped().to_string() == "block tcp/443, else the covering rule");
    // Claims without a scope beside it: packets outside the scope get theirs.
    CHECK(rs.add(p25, "b", Claim{Action::allow, "", {}}) == EntryChange::update);
    CHECK(rs.get(p25)->scoped().to_string() == "block tcp/443, else allow");
    CHECK(rs.get(p25)->action() == Action::allow); // the rule's, for reports and guards
    // Of two scoped claims, the winner by action.
    CHECK(rs.add(p25, "c", Claim{Action::monitor, "", Scope::parse("udp", "", "")}) == EntryChange::none);
    CHECK(rs.get(p25)->scoped().scope.to_string() == "tcp/443");
    CHECK(rs.remove(p25, "b") == EntryChange::update);
    CHECK(rs.get(p25)->scoped().to_string() == "block tcp/443, else the covering rule");
    // A scope change alone is a change of the rule.
    CHECK(rs.add(p25, "a", Claim{Action::block, "", Scope::parse("tcp", "80", "")}) == EntryChange::update);
    rs.remove(p25, "c");

    const Address a = Address::parse("192.0.2.9");
    L4 web{6, true, 1, 80}, mail{6, true, 1, 25};
    CHECK(rs.longest_match(a)->prefix == p25); // no packet: the longest rule
    CHECK(rs.longest_match(a, &web)->prefix == p25);
    CHECK(rs.longest_match(a, &mail)->prefix == p24);
    rs.add(p25, "b", Claim{Action::allow, "", {}});
    CHECK(rs.longest_match(a, &mail)->prefix == p25); // its otherwise
    rs.remove(p25, "b");
    rs.remove(p24, "");
    CHECK_FALSE(rs.longest_match(a, &mail));
}

TEST_CASE("scope: the rule store keeps scoped claims and reads them back")
{
    namespace fs = std::filesystem;
    fs::path dir = fs::temp_directory_path() / ("pw-scope-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    {
        RuleDb db(dir, 64, false);
        auto w = db.write();
        const Prefix p = Prefix::parse("2001:db8:1::/48");
        Scope s = Scope::parse("tcp", "22,2222", "");
        auto ch = w.set_claim(p, "ops", Claim{Action::block, "ssh", s});
        CHECK(ch.after_scoped.scope == s);
        ch = w.set_claim(p, "ops", Claim{Action::block, "ssh", Scope::parse("tcp", "22", "")});
        CHECK(ch.before_scoped.scope == s);
        CHECK(ch.after_scoped.scope.to_string() == "tcp/22");
        ch = w.set_claim(p, "court", Claim{Action::monitor, "", {}});
        CHECK(ch.after_scoped.to_string() == "block tcp/22, else monitor");
        w.set_claim(Prefix::parse("192.0.2.0/24"), "ops", Claim{Action::allow, "plain", {}});
        CHECK(w.count_scoped(Family::v6) == 1);
        CHECK(w.count_scoped(Family::v4) == 0);
        // Scoped rules counted as they come and go.
        w.set_claim(Prefix::parse("198.51.100.0/24"), "x", Claim{Action::block, "", Scope::parse("udp", "", "")});
        CHECK(w.count_scoped(Family::v4) == 1);
        w.set_claim(Prefix::parse("198.51.100.0/24"), "x", Claim{Action::block, "", {}});
        CHECK(w.count_scoped(Family::v4) == 0);
        w.set_claim(Prefix::parse("198.51.100.0/24"), "y", Claim{Action::block, "", Scope::parse("tcp", "", "")});
        CHECK(w.count_scoped(Family::v4) == 1);
        w.remove_claim(Prefix::parse("198.51.100.0/24"), "");
        CHECK(w.count_scoped(Family::v4) == 0);
        w.commit();
    }
    {
        RuleDb db(dir, 64, true);
        auto r = db.read();
        auto rule = r.find(Prefix::parse("2001:db8:1::/48"));
        REQUIRE(rule);
        CHECK(rule->scoped().to_string() == "block tcp/22, else monitor");
        CHECK(rule->claims.at("ops").comment == "ssh");
        CHECK(rule->claims.at("ops").scope.to_string() == "tcp/22");
        bool seen = false;
        r.for_each_entry(Prefix::parse("2001:db8::/32"), [&](const RuleEntry& e) {
            seen = e.scoped == rule->scoped() && e.action == Action::block;
            return true;
        });
        CHECK(seen);
        r.for_each_claim("ops", [&](const Prefix& p, const Claim& c) {
            CHECK(c.comment == (p.family == Family::v6 ? "ssh" : "plain"));
            CHECK(c.scope.scoped() == (p.family == Family::v6));
            return true;
        });
        CHECK_FALSE(r.find(Prefix::parse("192.0.2.0/24"))->scoped().scoped());
        CHECK(r.count_scoped(Family::v6) == 1);
        CHECK(r.count_scoped(Family::v4) == 0);
        CHECK(r.snapshot().count_scoped(Family::v6) == 1);
    }
    fs::remove_all(dir);
}
