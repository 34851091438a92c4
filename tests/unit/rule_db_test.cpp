// The rule store (LMDB) against the in-memory rule set: the same claims
// give the same rules, actions, ids, counts and range walks; a store too
// small for a change refuses it with the option to raise and keeps what it
// had; a reader sees the version committed when it began.
#include "base/error.hpp"
#include "random_rules.hpp"
#include "store/rule_db.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>

using namespace pw;
namespace fs = std::filesystem;

namespace {

using TempDir = pwtest::TempDir;

Prefix P(const char* s) { return Prefix::parse(s); }

// Rules as (prefix, action, claims) text, ids left out (each side numbers
// its own).
std::string shape(const RuleView& v)
{
    std::string out;
    for (Family f : {Family::v4, Family::v6})
        v.for_each_within(family_root(f), [&](const Rule& r) {
            out += r.prefix.to_string() + " " + action_name(r.action());
            for (const auto& [s, c] : r.claims)
                out += " " + s + "=" + action_name(c.action) + ":" + c.comment;
            out += "\n";
            return true;
        });
    return out;
}

} // namespace

TEST_CASE("rule store: claims, actions, ids and counts as the rule set has them")
{
    TempDir d;
    RuleDb db(d.path, 64, false);
    {
        auto w = db.write();
        auto c = w.set_claim(P("192.0.2.0/24"), "spamhaus", Claim{Action::block, "SBL1"});
        CHECK(c.before_id == 0);
        CHECK(c.after_id == 1);
        c = w.set_claim(P("192.0.2.0/24"), "court", Claim{Action::allow, ""});
        CHECK(c.before_id == 1);
        CHECK(c.after_action == Action::allow);
        w.set_claim(P("2001:db8::/32"), "court", Claim{Action::monitor, "x"});
        w.commit();
    }
    auto r = db.read();
    CHECK(r.size() == 2);
    CHECK(r.count(Family::v4, Action::allow) == 1);
    CHECK(r.count(Family::v6, Action::monitor) == 1);
    auto rule = r.find(P("192.0.2.0/24"));
    REQUIRE(rule);
    CHECK(rule->sources() == std::vector<std::string>{"court", "spamhaus"});
    CHECK(rule->claims.at("spamhaus").comment == "SBL1");
    CHECK(r.find_id(rule->id)->prefix == P("192.0.2.0/24"));
    CHECK(r.source_counts("court")[0][static_cast<int>(Action::allow) & 3] == 1);
    CHECK(r.source_counts("court")[1][static_cast<int>(Action::monitor) & 3] == 1);
    std::vector<std::string> claimed;
    r.for_each_claim("court", [&](const Prefix& p, const Claim&) {
        claimed.push_back(p.to_string());
        return true;
    });
    CHECK(claimed == std::vector<std::string>{"192.0.2.0/24", "2001:db8::/32"});

    // The last claim takes the rule with it; its id is never reused.
    const uint32_t id = rule->id;
    {
        auto w = db.write();
        CHECK(w.remove_claim(P("192.0.2.0/24"), "").leaving ==
              std::vector<std::string>{"court", "spamhaus"});
        w.commit();
    }
    {
        auto w = db.write();
        w.set_claim(P("192.0.2.0/24"), "cli", Claim{});
        w.commit();
    }
    CHECK(db.read().find(P("192.0.2.0/24"))->id > id);
    CHECK(db.read().find_id(id) == std::nullopt);
    CHECK(db.read().source_counts("spamhaus") == SourceCounts{});
}

TEST_CASE("rule store: 2,000 random claim changes leave what the rule set has")
{
    TempDir d;
    RuleDb db(d.path, 256, false);
    std::mt19937_64 rng(20261201);
    RuleSet ref = pwtest::random_rules(rng, 400);
    std::vector<Prefix> all;
    for (const auto& [p, _] : ref.rules())
        all.push_back(p);
    {
        auto w = db.write();
        for (const auto& [p, r] : ref.rules())
            for (const auto& [s, c] : r.claims)
                w.set_claim(p, s, c);
        w.commit();
    }
    const char* sources[] = {"a", "b", "random"};
    const Action actions[] = {Action::block, Action::allow, Action::monitor};
    for (int batch = 0; batch < 20; batch++) {
        auto w = db.write();
        for (int i = 0; i < 100; i++) {
            const Prefix& p = all[rng() % all.size()];
            const char* s = sources[rng() % 3];
            if (rng() % 3 == 0) {
                ref.remove(p, s);
                w.remove_claim(p, s);
            } else {
                Claim c{actions[rng() % 3], std::to_string(rng() % 5)};
                ref.add(p, s, c);
                w.set_claim(p, s, c);
            }
        }
        // The write transaction reads its own writes.
        CHECK(w.count(Family::v4) == ref.count(Family::v4));
        w.commit();
    }
    auto r = db.read();
    CHECK(shape(r) == shape(ref));
    for (Family f : {Family::v4, Family::v6})
        for (Action a : {Action::block, Action::allow, Action::monitor})
            CHECK(r.count(f, a) == ref.count(f, a));
    CHECK(r.sources() == ref.sources());
    // Covering rules and longest matches, as the reference finds them.
    for (int i = 0; i < 4000; i++) {
        Family f = i % 2 ? Family::v6 : Family::v4;
        Address a = pwtest::test_address(rng, all, f, i);
        auto want = ref.longest_match(a), got = r.longest_match(a);
        REQUIRE(want.has_value() == got.has_value());
        if (want)
            CHECK(want->prefix == got->prefix);
    }
}

TEST_CASE("rule store: a full store refuses the change, names --store-mb, and keeps what it had")
{
    TempDir d;
    {
        RuleDb db(d.path, 1, false); // 1 MiB
        {
            auto w = db.write();
            w.set_claim(P("192.0.2.0/24"), "cli", Claim{});
            w.commit();
        }
        std::string error;
        try {
            auto w = db.write();
            for (uint32_t i = 0; i < 200000; i++) {
                Address a;
                a.bytes = {10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
                w.set_claim(Prefix::of(a, 32), "bulk", Claim{Action::block, "a comment long enough"});
            }
            w.commit();
        } catch (const Error& e) {
            error = e.what();
        }
        CHECK(error.find("is full (1 MiB): raise --store-mb; nothing changed") != std::string::npos);
        CHECK(error.find('\n') == std::string::npos);
        CHECK(db.read().size() == 1);
    }
    RuleDb again(d.path, 64, false); // raised: the same rules, room to grow
    CHECK(again.read().size() == 1);
    auto w = again.write();
    w.set_claim(P("198.51.100.0/24"), "cli", Claim{});
    w.commit();
    CHECK(again.read().size() == 2);
}

TEST_CASE("rule store: a reader sees the version committed when it began")
{
    TempDir d;
    RuleDb db(d.path, 64, false);
    auto before = db.read();
    auto w = db.write();
    w.set_claim(P("203.0.113.0/24"), "cli", Claim{});
    CHECK(w.find(P("203.0.113.0/24")));
    w.commit();
    CHECK_FALSE(before.find(P("203.0.113.0/24")));
    CHECK(db.read().find(P("203.0.113.0/24")));
    // A write dropped uncommitted changes nothing.
    {
        auto w2 = db.write();
        w2.set_claim(P("198.51.100.0/24"), "cli", Claim{});
    }
    CHECK_FALSE(db.read().find(P("198.51.100.0/24")));
}

TEST_CASE("rule store: one environment per file in a process, shared by its users")
{
    TempDir d;
    auto a = RuleDb::shared(d.path, 64);
    auto b = RuleDb::shared(d.path / "." , 64);
    CHECK(a.get() == b.get());
    {
        auto w = a->write();
        w.set_claim(P("192.0.2.0/24"), "cli", Claim{});
        w.commit();
    }
    CHECK(b->read().size() == 1);
    CHECK(a->read_only_reason().empty());
    a.reset();
    b.reset();
    // Closed with its last user, reopened afresh.
    CHECK(RuleDb::shared(d.path, 64)->read().size() == 1);
}

TEST_CASE("rule store: expiring claims are kept with their deadline and indexed in order")
{
    TempDir d;
    RuleDb db(d.path, 64, false);
    auto due = [&](int64_t until) {
        std::string out;
        db.read().for_each_due(until, [&](const Prefix& p, const std::string& s, int64_t t) {
            out += p.to_string() + " " + s + " " + std::to_string(t) + "\n";
            return true;
        });
        return out;
    };
    {
        auto w = db.write();
        w.set_claim(P("192.0.2.0/24"), "cli", Claim{Action::block, "incident", {}, 2000});
        w.set_claim(P("192.0.2.0/24"), "court", Claim{Action::block, ""}); // never expires
        w.set_claim(P("198.51.100.0/24"), "feed", Claim{Action::block, "", Scope::parse("tcp", "443", ""), 1000});
        w.set_claim(P("2001:db8::/32"), "cli", Claim{Action::monitor, "x", {}, 3000});
        w.commit();
    }
    // The deadline round-trips beside the scope and the comment.
    auto r = db.read().find(P("198.51.100.0/24"));
    REQUIRE(r);
    CHECK(r->claims.at("feed").expires == 1000);
    CHECK(r->claims.at("feed").scope.to_string() == "tcp/443");
    CHECK(db.read().find(P("192.0.2.0/24"))->claims.at("cli").comment == "incident");
    CHECK(db.read().find(P("192.0.2.0/24"))->claims.at("court").expires == 0);
    CHECK(due(999).empty());
    CHECK(due(2000) == "198.51.100.0/24 feed 1000\n192.0.2.0/24 cli 2000\n");
    CHECK(db.read().expiring() == std::pair<size_t, int64_t>{3, 1000});
    {
        // A new deadline replaces the old entry; a claim without one
        // leaves the index; a removed claim too.
        auto w = db.write();
        w.set_claim(P("198.51.100.0/24"), "feed", Claim{Action::block, "", Scope::parse("tcp", "443", ""), 4000});
        w.set_claim(P("192.0.2.0/24"), "cli", Claim{Action::block, "incident"});
        w.remove_claim(P("2001:db8::/32"), "cli");
        w.commit();
    }
    CHECK(due(INT64_MAX) == "198.51.100.0/24 feed 4000\n");
    CHECK(db.read().expiring() == std::pair<size_t, int64_t>{1, 4000});
    {
        auto w = db.write();
        w.remove_claim(P("198.51.100.0/24"), ""); // every claim
        w.commit();
    }
    CHECK(db.read().expiring() == std::pair<size_t, int64_t>{0, 0});
}

TEST_CASE("rule store: versions, diffs and rollbacks against snapshots of every version")
{
    // 12 versions of random claim changes (with scopes and deadlines),
    // each recorded with its deltas and snapshotted whole here; then for
    // every pair the diff lists exactly the prefixes whose claims differ,
    // and rolling back to each kept version restores exactly its claims,
    // as one more version. Only the last 10 are kept.
    TempDir d;
    RuleDb db(d.path, 256, false);
    std::mt19937_64 rng(16);
    RuleSet base = pwtest::random_rules(rng, 150);
    std::vector<Prefix> all;
    for (const auto& [p, _] : base.rules())
        all.push_back(p);
    auto claims_of = [](const RuleView& v) {
        std::map<std::pair<Prefix, std::string>, Claim> out;
        for (Family f : {Family::v4, Family::v6})
            v.for_each_within(family_root(f), [&](const Rule& r) {
                for (const auto& [s, c] : r.claims)
                    out[{r.prefix, s}] = c;
                return true;
            });
        return out;
    };
    std::vector<std::map<std::pair<Prefix, std::string>, Claim>> at{claims_of(db.read())}; // version 0
    const char* sources[] = {"a", "b", "c"};
    const Action actions[] = {Action::block, Action::allow, Action::monitor, Action::reject};
    for (int v = 1; v <= 12; v++) {
        auto w = db.write();
        const int n = v == 1 ? 300 : 40;
        for (int i = 0; i < n; i++) {
            const Prefix& p = all[rng() % all.size()];
            const char* s = sources[rng() % 3];
            if (v > 1 && rng() % 3 == 0) {
                w.remove_claim(p, s);
            } else {
                Claim c{actions[rng() % 4], std::to_string(rng() % 4)};
                if (rng() % 4 == 0)
                    c.scope = pwtest::random_scope(rng, p.family);
                if (rng() % 4 == 0)
                    c.expires = 2000000000 + static_cast<int64_t>(rng() % 1000);
                w.set_claim(p, s, c);
            }
        }
        VersionRecord rec;
        rec.what = "test " + std::to_string(v);
        CHECK(w.record_version(rec, 10) == static_cast<uint64_t>(v));
        w.commit();
        at.push_back(claims_of(db.read()));
    }
    auto r = db.read();
    auto versions = r.versions();
    REQUIRE(versions.size() == 10);
    CHECK(versions.front().version == 3);
    CHECK(versions.back().what == "test 12");
    CHECK(r.latest_version() == 12);
    CHECK(r.deltas_after(0, 2).empty()); // pruned with their versions
    for (uint64_t from = 2; from <= 12; from++)
        for (uint64_t to = from; to <= 12; to++) {
            std::set<Prefix> want, got;
            for (const auto& [k, c] : at[from])
                if (!at[to].contains(k) || at[to].at(k) != c)
                    want.insert(k.first);
            for (const auto& [k, c] : at[to])
                if (!at[from].contains(k))
                    want.insert(k.first);
            for (const auto& pd : diff_versions(r.deltas_after(from, to)))
                got.insert(pd.prefix);
            CAPTURE(from);
            CAPTURE(to);
            CHECK(got == want);
        }
    // Rollbacks, each to an earlier kept version, each one version more.
    for (uint64_t to : {11u, 5u, 4u, 12u}) {
        auto now = db.read();
        const uint64_t latest = now.latest_version();
        REQUIRE(now.versions().front().version <= to + 1); // every version after `to` is kept
        auto targets = state_at(now.deltas_after(to, latest));
        auto w = db.write();
        for (const auto& t : targets) {
            if (t.after)
                w.set_claim(t.prefix, t.source, *t.after);
            else
                w.remove_claim(t.prefix, t.source);
        }
        CHECK(w.record_version(VersionRecord{}, 10) == latest + 1);
        w.commit();
        CAPTURE(to);
        CHECK(claims_of(db.read()) == at[to]);
        at.push_back(at[to]);
    }
    // One source's claims only.
    {
        auto now = db.read();
        auto targets = state_at(now.deltas_after(13, now.latest_version()), "a");
        for (const auto& t : targets)
            CHECK(t.source == "a");
        CHECK_FALSE(targets.empty());
    }
}
