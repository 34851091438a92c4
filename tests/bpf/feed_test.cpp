// A BGP feed against the real rule store and maps: ExaBGP JSON lines in,
// claims and the data plane's table out (FeedSession, the session logic
// of `prefixwall feed`; the lab test runs it under a real ExaBGP and BIRD).
// Time is driven by the test for the coalescing window; the hold uses the
// wall clock, as the stored deadline does.
#include "feed/feed_session.hpp"
#include "harness.hpp"

#include <doctest/doctest.h>

#include <thread>

using namespace pw;
using pwtest::Harness;
using Clock = FeedSession::Clock;
using std::chrono::milliseconds;

namespace {

const char* const kHead = R"({ "exabgp": "4.0.1", "time": 1.0, "host" : "t", "pid" : 1, "ppid" : 1, "counter": 1, )";
const char* const kNeighbor = R"("neighbor": { "address": { "local": "192.0.2.2", "peer": "192.0.2.1" }, "asn": { "local": 65001, "peer": 65000 })";

std::string state(const std::string& s)
{
    return std::string(kHead) + R"("type": "state", )" + kNeighbor + R"(, "state": ")" + s + R"(" } })";
}

std::string family_of(const std::string& prefix)
{
    return prefix.find(':') == std::string::npos ? "ipv4 unicast" : "ipv6 unicast";
}

// One UPDATE announcing `prefixes` (one family) with these communities.
std::string announce(const std::vector<std::string>& prefixes, const std::string& communities = "[ [ 65535, 666 ] ]")
{
    std::string nlri;
    for (const auto& p : prefixes)
        nlri += std::string(nlri.empty() ? "" : ", ") + R"({ "nlri": ")" + p + R"(" })";
    std::string attr = R"("origin": "igp", "as-path": [ 65000 ])";
    if (!communities.empty())
        attr += R"(, "community": )" + communities;
    return std::string(kHead) + R"("type": "update", )" + kNeighbor + R"(, "direction": "receive", "message": { "update": { "attribute": { )" +
           attr + R"( }, "announce": { ")" + family_of(prefixes[0]) + R"(": { "192.0.2.1": [ )" + nlri + " ] } } } } } }";
}

std::string withdraw(const std::vector<std::string>& prefixes)
{
    std::string nlri;
    for (const auto& p : prefixes)
        nlri += std::string(nlri.empty() ? "" : ", ") + R"({ "nlri": ")" + p + R"(" })";
    return std::string(kHead) + R"("type": "update", )" + kNeighbor + R"(, "direction": "receive", "message": { "update": { "withdraw": { ")" +
           family_of(prefixes[0]) + R"(": [ )" + nlri + " ] } } } } }";
}

std::string eor(const std::string& afi)
{
    return std::string(kHead) + R"("type": "update", )" + kNeighbor + R"(, "direction": "receive", "message": { "eor": { "afi" : ")" +
           afi + R"(", "safi" : "unicast" } } } })";
}

// A feed over the harness's controller, its log kept for the checks.
struct Feed {
    Harness& h;
    std::vector<std::string> log;
    FeedSession s;
    Clock::time_point t = Clock::now();

    Feed(Harness& harness, FeedOptions o)
        : h(harness), s(std::move(o), [this]() -> Controller& { return h.ctl(); },
                        [this](const std::string& l) { log.push_back(l); })
    {
    }
    bool line(const std::string& l) { return s.on_line(l, t); }
    // A session comes up, announces `routes` (one family) with BLACKHOLE
    // and ends its table: end-of-RIB for both families.
    void session(const std::vector<std::string>& routes)
    {
        line(state("up"));
        if (!routes.empty())
            line(announce(routes));
        line(eor("ipv4"));
        line(eor("ipv6"));
    }
    // Moves the test's clock on and does what is due.
    void after(int ms)
    {
        t += milliseconds(ms);
        s.tick(t);
    }
    bool logged(const std::string& part) const
    {
        for (const auto& l : log)
            if (l.find(part) != std::string::npos)
                return true;
        return false;
    }
};

FeedOptions options(const std::string& source = "bgp")
{
    FeedOptions o;
    o.source = source;
    o.sync.guards.protect_host_addresses = false;
    return o;
}

bool in_force(Harness& h, const std::string& prefix, const std::string& source = "bgp")
{
    auto r = h.ctl().view().find(Prefix::parse(prefix));
    return r && r->claims.contains(source);
}

size_t claims(Harness& h, const std::string& source = "bgp")
{
    size_t n = 0;
    h.ctl().view().for_each_claim(source, [&](const Prefix&, const Claim&) { return ++n, true; });
    return n;
}

} // namespace

TEST_CASE("feed: the initial table is one version once end-of-RIB has come for every family")
{
    Harness h;
    Feed f(h, options());
    CHECK(f.line(state("connected")));
    f.line(state("up"));
    CHECK(f.s.phase() == "collecting");
    f.line(announce({"203.0.113.0/24", "198.51.100.7/32"}));
    f.line(announce({"2001:db8:100::/48"}));
    f.line(announce({"198.51.100.128/25"}, "")); // no community: not applied
    f.line(eor("ipv6"));                         // IPv6's can come first
    f.after(100);
    CHECK(claims(h) == 0);
    CHECK(f.s.phase() == "collecting");
    f.line(eor("ipv4"));
    CHECK(f.s.phase() == "up");
    CHECK(claims(h) == 3);
    CHECK(f.s.status().versions == 1);
    CHECK_FALSE(in_force(h, "198.51.100.128/25"));
    // The data plane's table, walked as the XDP program walks it.
    auto hit = h.ctl().lookup(Address::parse("203.0.113.9"));
    REQUIRE(hit.rule);
    CHECK(hit.rule->prefix == Prefix::parse("203.0.113.0/24"));
    CHECK(h.ctl().view().find(Prefix::parse("2001:db8:100::/48"))->claims.at("bgp").comment ==
          "peer 192.0.2.1 AS65000 community 65535:666");
    CHECK(f.logged("initial table in force (end-of-RIB): 3 routes, 3 added"));
}

TEST_CASE("feed: live updates within the coalescing window are one version; withdraws let go")
{
    Harness h;
    FeedOptions o = options();
    o.coalesce_s = 0.010;
    Feed f(h, o);
    f.session({});
    REQUIRE(f.s.phase() == "up");
    REQUIRE(f.s.status().versions == 1);

    f.line(announce({"203.0.113.1/32"}));
    f.after(4);
    CHECK_FALSE(in_force(h, "203.0.113.1/32")); // still inside the window
    f.line(announce({"2001:db8::1/128"}));
    f.after(7);
    CHECK(in_force(h, "203.0.113.1/32"));
    CHECK(in_force(h, "2001:db8::1/128"));
    CHECK(f.s.status().versions == 2);
    CHECK(f.s.status().latency_count == 2);

    f.line(withdraw({"203.0.113.1/32"}));
    f.after(11);
    CHECK_FALSE(in_force(h, "203.0.113.1/32"));
    // Announced again without the community: no longer applied.
    f.line(announce({"2001:db8::1/128"}, "[ [ 65000, 1 ] ]"));
    f.after(11);
    CHECK_FALSE(in_force(h, "2001:db8::1/128"));
    CHECK(f.s.status().versions == 4);
    CHECK(f.s.status().announced == 3);
    CHECK(f.s.status().withdrawn == 1);
}

TEST_CASE("feed: communities map to actions")
{
    Harness h;
    FeedOptions o = options();
    o.policy.add_rule("65000:100=monitor");
    o.policy.add_rule("65535:666=block");
    o.coalesce_s = 0;
    Feed f(h, o);
    f.line(state("up"));
    f.line(announce({"203.0.113.0/24"}, "[ [ 65000, 100 ] ]"));
    f.line(announce({"198.51.100.0/24"}));
    f.line(eor("ipv4"));
    f.line(eor("ipv6"));
    CHECK(h.ctl().view().find(Prefix::parse("203.0.113.0/24"))->action() == Action::monitor);
    CHECK(h.ctl().view().find(Prefix::parse("198.51.100.0/24"))->action() == Action::block);
}

TEST_CASE("feed: guards keep broad, private and protected routes out, one line each")
{
    Harness h;
    FeedOptions o = options();
    o.sync.guards.protect = {Prefix::parse("198.51.100.53/32")};
    Feed f(h, o);
    f.session({"10.0.0.0/8", "4.0.0.0/7", "198.51.100.0/24", "203.0.113.0/24"});
    CHECK(claims(h) == 1);
    CHECK(in_force(h, "203.0.113.0/24"));
    CHECK(f.logged("refused 10.0.0.0/8 (private"));
    CHECK(f.logged("refused 4.0.0.0/7 (min-prefix-len"));
    CHECK(f.logged("refused 198.51.100.0/24 (protected"));
    // Live, the same.
    f.line(announce({"192.168.1.0/24"}));
    f.after(5);
    CHECK_FALSE(in_force(h, "192.168.1.0/24"));
}

TEST_CASE("feed: over the max-prefix limit, the last good table stays and the session is not applied")
{
    Harness h;
    FeedOptions o = options();
    o.max_prefixes = 3;
    o.coalesce_s = 0;
    Feed f(h, o);
    f.session({"203.0.113.1/32", "203.0.113.2/32"});
    REQUIRE(claims(h) == 2);
    f.line(announce({"203.0.113.3/32"}));
    f.after(1);
    CHECK(claims(h) == 3);
    // One update over the limit: none of it, and nothing after it.
    f.line(announce({"203.0.113.4/32", "203.0.113.5/32"}));
    f.after(1);
    CHECK(f.s.phase() == "over-limit");
    CHECK(f.logged("5 routes, over --max-prefixes 3"));
    f.line(withdraw({"203.0.113.1/32"}));
    f.after(1);
    CHECK(claims(h) == 3);
    CHECK(in_force(h, "203.0.113.1/32"));

    // A new session's initial table over the limit is refused: the claims stay.
    f.line(state("down"));
    f.session({"198.51.100.1/32", "198.51.100.2/32", "198.51.100.3/32", "198.51.100.4/32"});
    CHECK(f.s.phase() == "over-limit");
    CHECK(f.logged("initial table refused, 4 routes, over --max-prefixes 3"));
    CHECK(claims(h) == 3);
    CHECK(in_force(h, "203.0.113.3/32"));

    // One within it replaces them.
    f.line(state("down"));
    f.session({"203.0.113.1/32", "203.0.113.2/32", "198.51.100.1/32"});
    CHECK(f.s.phase() == "up");
    CHECK(claims(h) == 3);
    CHECK(in_force(h, "198.51.100.1/32"));
    CHECK_FALSE(in_force(h, "203.0.113.3/32"));
    CHECK(h.ctl().store().load_holds().empty());
}

TEST_CASE("feed: a new session's table that removes most routes is refused unless forced")
{
    Harness h;
    FeedOptions o = options();
    Feed f(h, o);
    f.line(state("up"));
    std::vector<std::string> ten;
    for (int i = 1; i <= 10; i++)
        ten.push_back("203.0.113." + std::to_string(i) + "/32");
    f.line(announce(ten));
    f.line(eor("ipv4"));
    f.line(eor("ipv6"));
    REQUIRE(claims(h) == 10);
    f.line(state("down"));
    f.session({"203.0.113.1/32"});
    CHECK(f.s.phase() == "refused");
    CHECK(f.logged("initial table refused: would remove 9 of 10 entries"));
    CHECK(claims(h) == 10);

    o.sync.guards.force = true;
    Feed forced(h, o);
    forced.session({"203.0.113.1/32"});
    CHECK(claims(h) == 1);
}

TEST_CASE("feed: a lost session holds the claims, then withdraws them; any later session honours the deadline")
{
    Harness h;
    FeedOptions o = options();
    o.hold_after_down_s = 1;
    Feed f(h, o);
    f.session({"203.0.113.0/24"});
    f.line(state("down"));
    CHECK(f.s.phase() == "down");
    auto holds = h.ctl().store().load_holds();
    REQUIRE(holds.contains("bgp"));
    CHECK(holds["bgp"] > ::time(nullptr) - 1);
    f.after(1);
    CHECK(in_force(h, "203.0.113.0/24")); // within the hold
    REQUIRE(f.s.next_deadline().has_value());
    std::this_thread::sleep_for(std::chrono::duration<double>(1.1));
    f.after(1);
    CHECK_FALSE(in_force(h, "203.0.113.0/24"));
    CHECK(h.ctl().store().load_holds().empty());

    // The feed gone (a deadline stored, nobody left to act on it): the
    // next session that opens the store withdraws at the deadline.
    Feed g(h, o);
    g.session({"198.51.100.0/24"});
    g.s.on_end("end of input");
    REQUIRE(in_force(h, "198.51.100.0/24"));
    h.ctl().hold_claims("bgp", ::time(nullptr) - 1); // as if the hold were over
    h.reopen();
    CHECK_FALSE(in_force(h, "198.51.100.0/24"));
    CHECK(h.ctl().store().load_holds().empty());
}

TEST_CASE("feed: a new session reaching end-of-RIB replaces held claims and ends the hold")
{
    Harness h;
    FeedOptions o = options();
    o.hold_after_down_s = 3600;
    Feed f(h, o);
    f.session({"203.0.113.0/24", "198.51.100.0/24"});
    f.line(state("down"));
    REQUIRE(h.ctl().store().load_holds().contains("bgp"));
    f.line(state("up"));
    f.line(announce({"203.0.113.0/24"}));
    f.line(eor("ipv4"));
    CHECK(in_force(h, "198.51.100.0/24")); // IPv6's end-of-RIB still missing
    f.line(eor("ipv6"));
    CHECK_FALSE(in_force(h, "198.51.100.0/24"));
    CHECK(in_force(h, "203.0.113.0/24"));
    CHECK(h.ctl().store().load_holds().empty());
}

TEST_CASE("feed: a late end-of-RIB: the table is committed as received at the timeout")
{
    Harness h;
    FeedOptions o = options();
    o.eor_timeout_s = 0.5;
    Feed f(h, o);
    f.line(state("up"));
    f.line(announce({"203.0.113.0/24"}));
    f.line(eor("ipv4"));
    f.after(400);
    CHECK(claims(h) == 0);
    f.after(200);
    CHECK(claims(h) == 1);
    CHECK(f.logged("no end-of-RIB for ipv6 within 0.5 s: committing the table as received"));
}

TEST_CASE("feed: bad lines are one log line each and change nothing; another API version stops the feed")
{
    Harness h;
    FeedOptions o = options();
    o.coalesce_s = 0;
    Feed f(h, o);
    f.session({"203.0.113.0/24"});
    REQUIRE(claims(h) == 1);
    CHECK(f.line("{ \"exabgp\": \"4.0.1\", \"type\": \"upd"));
    CHECK(f.line(R"({ "exabgp": "4.0.1", "type": "bogus" })"));
    CHECK(f.line(announce({"203.0.113.0/33"})));
    f.after(1);
    CHECK(f.logged("error: line skipped, nothing changed: malformed JSON"));
    CHECK(f.logged("error: unknown ExaBGP message type 'bogus'"));
    CHECK(f.logged("203.0.113.0/33"));
    CHECK(claims(h) == 1);
    CHECK(f.s.phase() == "up");
    CHECK_FALSE(f.line(R"({ "exabgp": "5.0.0", "type": "state", "neighbor": { "state": "down" } })"));
    CHECK(f.logged("ExaBGP JSON API version 5.0.0"));
    CHECK(claims(h) == 1);
}

TEST_CASE("feed: updates with no session start (ExaBGP restarted the feed) apply to the claims in force")
{
    Harness h;
    FeedOptions o = options();
    o.coalesce_s = 0;
    Feed f(h, o);
    f.line(announce({"203.0.113.0/24"}));
    f.after(1);
    CHECK(in_force(h, "203.0.113.0/24"));
    CHECK(f.logged("updates without a session start"));

    // Respawned while its claims were held (the last feed got SIGTERM):
    // updates mean the session is alive, and the hold ends.
    h.ctl().hold_claims("bgp", ::time(nullptr) + 1);
    Feed g(h, o);
    g.s.resume_hold(::time(nullptr) + 1);
    g.line(announce({"198.51.100.0/24"}));
    g.after(1);
    CHECK(h.ctl().store().load_holds().empty());
    std::this_thread::sleep_for(std::chrono::duration<double>(1.1));
    g.after(1);
    CHECK(in_force(h, "203.0.113.0/24"));
    CHECK(in_force(h, "198.51.100.0/24"));
}
