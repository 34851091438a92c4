// Provider lists in every format, their errors, and the collateral count
// held against an independent count, address by address.
#include "registry/collateral_guard.hpp"
#include "registry/provider_lists.hpp"
#include "store/collateral.hpp"

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>

using namespace pw;

namespace {

const std::string kDir = std::string(PW_FIXTURES_DIR) + "/providers/";
Prefix P(const char* s) { return Prefix::parse(s); }

ProviderSpace read(const std::vector<std::string>& lists)
{
    ProviderSpace s;
    for (const auto& l : lists) {
        ProviderList pl = parse_collateral_flag(l);
        pl.file = kDir + pl.file;
        read_provider_list(pl, s);
    }
    s.finish();
    return s;
}

// label -> units of one provider's groups in one family.
std::map<std::string, u128> group_sizes(const ProviderSpace& s, Family f, const std::string& provider)
{
    std::map<std::string, u128> out;
    for (const auto& g : s.groups(f))
        if (s.providers()[g.provider] == provider)
            out[g.label] = count_units(g.ranges, f == Family::v4 ? 0 : 64);
    return out;
}

std::string error_of(const std::string& list)
{
    try {
        read({list});
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

} // namespace

TEST_CASE("provider lists: every format, names and labels")
{
    ProviderSpace aws = read({"aws-ip-ranges.json"});
    CHECK(aws.providers() == std::vector<std::string>{"aws"});
    CHECK(aws.prefixes() == 7);
    auto v4 = group_sizes(aws, Family::v4, "aws");
    // The /22 listed under AMAZON and S3 counts once in the total.
    CHECK(v4[""] == 1024 + 1024 + 256);
    CHECK(v4["AMAZON ap-northeast-2"] == 1024);
    CHECK(v4["S3 ap-northeast-2"] == 1024);
    CHECK(v4["EC2 eu-central-1"] == 128);
    CHECK(group_sizes(aws, Family::v6, "aws")[""] == (u128{1} << 29) + (u128{1} << 24));

    ProviderSpace g = read({"google-cloud.json"});
    CHECK(g.providers() == std::vector<std::string>{"google-cloud"});
    CHECK(group_sizes(g, Family::v4, "google-cloud")["us-central1"] == 32768);
    CHECK(group_sizes(g, Family::v6, "google-cloud")["us-central1"] == (u128{1} << 20));

    ProviderSpace az = read({"azure-service-tags.json"});
    auto azv4 = group_sizes(az, Family::v4, "azure");
    CHECK(azv4[""] == 32768 + 16384); // the storage tag lies inside the region's
    CHECK(azv4["Storage.WestEurope"] == 1024 + 4096);
    CHECK(group_sizes(az, Family::v6, "azure")["AzureCloud.westeurope"] == (u128{1} << 18));

    ProviderSpace fastly = read({"fastly-public-ip-list.json"});
    CHECK(group_sizes(fastly, Family::v4, "fastly")[""] == 4096 + 1024 + 65536);
    CHECK(group_sizes(fastly, Family::v6, "fastly")[""] == (u128{2} << 32));

    // Plain lists take their name from the flag, else the file's stem.
    ProviderSpace plain = read({"cloudflare=cloudflare-ips-v4", "cloudflare=cloudflare-ips-v6", "hoster.netset"});
    CHECK(plain.providers() == std::vector<std::string>{"cloudflare", "hoster"});
    CHECK(group_sizes(plain, Family::v4, "cloudflare")[""] == 4096 + 1024 + (1u << 19));
    CHECK(group_sizes(plain, Family::v4, "hoster")[""] == 65);
    // A name overrides a JSON format's own.
    CHECK(read({"amazon=aws-ip-ranges.json"}).providers() == std::vector<std::string>{"amazon"});
    // Every provider's space together, each address once.
    ProviderSpace all = read({"aws-ip-ranges.json", "google-cloud.json", "azure-service-tags.json"});
    CHECK(count_units(all.all(Family::v4)) == 2304 + 4096 + 32768 + 128 + 49152);
}

TEST_CASE("provider lists: a malformed one is one line naming the file and the line")
{
    CHECK(error_of("bad-aws.json") == kDir + "bad-aws.json: line 11: bad prefix '3.5.300.0/22': not an IPv4 or IPv6 address");
    CHECK(error_of("bad-plain") == kDir + "bad-plain: line 2: bad prefix '103.21.244.0/33': prefix length 33 exceeds 32");
    std::string t = error_of("bad-truncated.json");
    CHECK(t.rfind(kDir + "bad-truncated.json: line 7: not valid JSON", 0) == 0);
    CHECK(t.find('\n') == std::string::npos);
    CHECK(error_of("rkn-missing") .find("cannot read provider list") != std::string::npos);
    CHECK(error_of("../spamhaus-drop.json").find("not valid JSON") != std::string::npos); // NDJSON: not one object
    CHECK(error_of("../exabgp-4.2-session.jsonl").find("JSON") != std::string::npos);
}

TEST_CASE("collateral: a hand example, by provider, label and the largest prefixes")
{
    ProviderSpace s = read({"aws-ip-ranges.json", "google-cloud.json"});
    std::array<std::vector<Range>, 2> blocked;
    blocked[0] = {range_of(P("3.5.0.0/16")), range_of(P("35.190.0.0/24"))};
    blocked[1] = {range_of(P("2600:1f14::/40"))};
    Collateral c = count_collateral(s, blocked, {P("3.5.0.0/16"), P("3.5.142.0/24"), P("35.190.0.0/24"), P("2600:1f14::/40")});
    CHECK(c.units[0] == 1024 + 256);
    CHECK(c.units[1] == (u128{1} << 24));
    REQUIRE(c.counts.size() == 7);
    CHECK(c.counts[0].provider == "aws");
    CHECK(c.counts[0].label.empty());
    CHECK(c.counts[0].units == 1024);
    CHECK(c.counts[1].label == "AMAZON ap-northeast-2");
    CHECK(c.counts[2].label == "S3 ap-northeast-2");
    CHECK(c.counts[3].provider == "google-cloud");
    CHECK(c.counts[3].units == 256);
    CHECK(c.counts[4].label == "us-central1");
    CHECK(c.counts[5].family == Family::v6);
    CHECK(c.counts[5].label.empty());
    CHECK(c.counts[6].label == "EC2 us-west-2");
    REQUIRE(c.largest.size() == 4);
    CHECK(c.largest[0].first == P("2600:1f14::/40"));
    CHECK(c.largest[1] == std::pair{P("3.5.0.0/16"), u128{1024}});
    CHECK(c.largest[2] == std::pair{P("3.5.142.0/24"), u128{256}});
    GuardOptions g;
    g.max_collateral_v4 = 1000;
    CHECK(collateral_refusal_text(c, g).rfind("would newly block 1280 IPv4 addresses of provider space, more "
                                              "than --max-collateral 1000 and 16777216 IPv6 /64s",
                                              0) == 0);
}

TEST_CASE("collateral of random changes equals a count address by address")
{
    // A universe of 2^16 IPv4 addresses and 2^16 IPv6 /64s: random
    // providers (with overlapping labels) and random rule sets inside it;
    // the change's newly blocked space as the commit finds it
    // (change_impact), counted against the providers, and the same
    // counted by looking every address up before and after.
    std::mt19937 rng(16);
    const Prefix u4 = P("198.51.0.0/16"), u6 = P("2001:db8::/48");
    auto random_in = [&](const Prefix& u, unsigned min_len, unsigned max_len) {
        Address a = u.first();
        unsigned len = min_len + rng() % (max_len - min_len + 1);
        for (unsigned i = u.len / 8; i < addr_bytes(a.family); i++)
            a.bytes[i] = static_cast<uint8_t>(rng());
        return Prefix::of(a, len);
    };
    std::array<u128, 2> seen{};
    for (int round = 0; round < 12; round++) {
        ProviderSpace space;
        std::vector<std::tuple<std::string, std::string, Prefix>> listed;
        for (int i = 0; i < 40; i++) {
            std::string prov = "p" + std::to_string(rng() % 3), label = "r" + std::to_string(rng() % 3);
            Prefix p = i % 2 ? random_in(u4, 18, 28) : random_in(u6, 50, 60);
            space.add(prov, label, p);
            listed.emplace_back(prov, label, p);
        }
        space.finish();
        RuleSet before, after;
        const Action actions[] = {Action::block, Action::block, Action::allow, Action::monitor, Action::reject};
        for (int i = 0; i < 60; i++) {
            Prefix p = i % 2 ? random_in(u4, 16, 30) : random_in(u6, 48, 64);
            before.add(p, "s", Claim{actions[rng() % 5], ""});
        }
        after = before;
        std::vector<Prefix> changed, named;
        for (int i = 0; i < 30; i++) {
            Prefix p = i % 2 ? random_in(u4, 16, 30) : random_in(u6, 48, 64);
            if (rng() % 4 == 0) {
                after.remove(p, "");
            } else {
                Action a = actions[rng() % 5];
                after.add(p, "s", Claim{a, ""});
                if (stops_traffic(a))
                    named.push_back(p);
            }
            changed.push_back(p);
        }
        auto impact = change_impact(before, after, changed);
        Collateral c = count_collateral(space, {impact[0].fresh_ranges, impact[1].fresh_ranges}, named);

        // The independent count: each IPv4 address, each /64 (rules no
        // longer than /64 there, so a /64 is blocked whole or not at all).
        std::map<std::pair<std::string, std::string>, u128> want;
        std::array<u128, 2> want_total{};
        for (Family f : {Family::v4, Family::v6}) {
            const Prefix& u = f == Family::v4 ? u4 : u6;
            for (uint32_t i = 0; i < 65536; i++) {
                Address a = u.first();
                if (f == Family::v4) {
                    a.bytes[2] = static_cast<uint8_t>(i >> 8);
                    a.bytes[3] = static_cast<uint8_t>(i);
                } else {
                    a.bytes[6] = static_cast<uint8_t>(i >> 8);
                    a.bytes[7] = static_cast<uint8_t>(i);
                }
                const Rule* b = before.lookup(a);
                const Rule* n = after.lookup(a);
                if (!n || !stops_traffic(n->action()) || (b && stops_traffic(b->action())))
                    continue;
                std::set<std::pair<std::string, std::string>> in;
                for (const auto& [prov, label, p] : listed)
                    if (p.family == f && p.contains(Prefix::of(a, max_len(f)))) {
                        in.insert({prov, ""});
                        in.insert({prov, label});
                    }
                if (!in.empty())
                    want_total[fam_index(f)]++;
                for (const auto& k : in)
                    want[k]++;
            }
        }
        CAPTURE(round);
        seen[0] += want_total[0];
        seen[1] += want_total[1];
        CHECK(c.units[0] == want_total[0]);
        CHECK(c.units[1] == want_total[1]);
        std::map<std::pair<std::string, std::string>, u128> got;
        for (const auto& row : c.counts)
            got[{row.provider, row.label}] += row.units;
        CHECK(got == want);
        for (const auto& [p, units] : c.largest)
            CHECK(std::find(named.begin(), named.end(), p) != named.end());
    }
    // The rounds did count something in both families.
    CHECK(seen[0] > 1000);
    CHECK(seen[1] > 1000);
}
