// The Prometheus exposition, top-K selection and rates, without a kernel.
#include "report/exposition.hpp"
#include "report/load.hpp"
#include "report/metrics.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

using namespace pw;

TEST_CASE("exposition: HELP and TYPE before the samples, label values escaped")
{
    Exposition e;
    e.family("prefixwall_x_total", "counter", "A help with \\ and\na newline.");
    e.sample("prefixwall_x_total", {{"source", "a\"b\\c\nd"}, {"action", "block"}}, uint64_t{42});
    e.sample("prefixwall_x_total", {}, 1.5);
    CHECK(e.text() ==
          "# HELP prefixwall_x_total A help with \\\\ and\\na newline.\n"
          "# TYPE prefixwall_x_total counter\n"
          "prefixwall_x_total{source=\"a\\\"b\\\\c\\nd\",action=\"block\"} 42\n"
          "prefixwall_x_total 1.5\n");
}

namespace {
RuleSet sample_rules()
{
    RuleSet rs;
    rs.add(Prefix::parse("192.0.2.0/24"), "drop", Claim{Action::block, "SBL1"});
    rs.add(Prefix::parse("198.51.100.0/24"), "drop", Claim{Action::block, ""});
    rs.add(Prefix::parse("198.51.100.0/24"), "court", Claim{Action::block, ""});
    rs.add(Prefix::parse("2001:db8::/32"), "watch", Claim{Action::monitor, ""});
    rs.add(Prefix::parse("203.0.113.0/24"), "ops", Claim{Action::allow, ""});
    return rs;
}
uint32_t id(const RuleSet& rs, const char* p) { return rs.find(Prefix::parse(p))->id; }
} // namespace

TEST_CASE("ranking: totals, rates between two snapshots, top N")
{
    RuleSet rs = sample_rules();
    LoadSnapshot a, b;
    a.at = std::chrono::steady_clock::time_point(std::chrono::seconds(100));
    b.at = a.at + std::chrono::seconds(2);
    a.by_rule = {{id(rs, "192.0.2.0/24"), {1000, 100000}}, {id(rs, "198.51.100.0/24"), {10, 1000}}};
    b.by_rule = {{id(rs, "192.0.2.0/24"), {1100, 110000}},      // +100 in 2 s
                 {id(rs, "198.51.100.0/24"), {410, 41000}},     // +400 in 2 s
                 {id(rs, "2001:db8::/32"), {50, 5000}},         // new in the interval
                 {0, {7, 700}}};                                // overflow: not a rule

    auto by_total = rank_rules(rs, b, nullptr, SortKey::packets, 0);
    REQUIRE(by_total.size() == 3);
    CHECK(by_total[0].rule->prefix.to_string() == "192.0.2.0/24");
    CHECK(by_total[0].pps == 0);

    auto by_rate = rank_rules(rs, b, &a, SortKey::pps, 2);
    REQUIRE(by_rate.size() == 2);
    CHECK(by_rate[0].rule->prefix.to_string() == "198.51.100.0/24");
    CHECK(by_rate[0].pps == doctest::Approx(200));
    CHECK(by_rate[0].bps == doctest::Approx(200 * 100 * 8));
    CHECK(by_rate[1].rule->prefix.to_string() == "192.0.2.0/24");
    CHECK(by_rate[1].pps == doctest::Approx(50));

    // A rule whose counts went down was replaced: no rate, not negative.
    LoadSnapshot c = b;
    c.at = b.at + std::chrono::seconds(1);
    c.by_rule.at(id(rs, "192.0.2.0/24")) = {3, 300};
    auto after = rank_rules(rs, c, &b, SortKey::pps, 0);
    for (const auto& r : after) {
        CHECK(r.pps >= 0);
        if (r.rule->prefix.to_string() == "192.0.2.0/24")
            CHECK(r.pps == 0);
    }

    // A source filter lists every rule of the source, traffic or not.
    auto ops = rank_rules(rs, b, nullptr, SortKey::packets, 0, "ops");
    REQUIRE(ops.size() == 1);
    CHECK(ops[0].counter.packets == 0);
}

TEST_CASE("top-K keeps the K largest, in order")
{
    RuleSet rs;
    std::vector<RuleLoad> v;
    for (int i = 0; i < 200; i++)
        rs.add(Prefix::of(Address::parse("198.51.100.0"), 24), "x", Claim{Action::block, ""});
    Rule r = rs.rules().begin()->second;
    for (uint64_t i = 0; i < 1000; i++)
        v.push_back(RuleLoad{r, Counter{(i * 7919) % 1000, 0}, 0, 0});
    keep_top(v, 10, SortKey::packets);
    REQUIRE(v.size() == 10);
    for (size_t i = 0; i < 10; i++)
        CHECK(v[i].counter.packets == 999 - i);
}

TEST_CASE("source totals include retired counts and survive rule removal")
{
    RuleSet rs = sample_rules();
    LoadSnapshot s;
    s.by_rule = {{id(rs, "198.51.100.0/24"), {10, 1000}}, {id(rs, "192.0.2.0/24"), {5, 500}}};
    auto loads = source_loads(rs, s, {{"drop", {100, 10000}}, {"gone", {3, 300}}});
    std::map<std::string, SourceLoad> by;
    for (const auto& l : loads)
        by[l.source] = l;
    CHECK(by["drop"].counter.packets == 100 + 10 + 5);
    CHECK(by["court"].counter.packets == 10);
    CHECK(by["gone"].counter.packets == 3);
    CHECK(by["gone"].action == "none");
    CHECK(by["watch"].action == "monitor");
    CHECK(by["watch"].counter.packets == 0);
}

TEST_CASE("the metrics render every family once, with bounded prefix series")
{
    RuleSet rs = sample_rules();
    LoadSnapshot s;
    s.by_rule = {{id(rs, "198.51.100.0/24"), {10, 1000}}, {id(rs, "192.0.2.0/24"), {5, 500}}};
    s.global[global_index(PW_FAMILY_IPV4, PW_OUTCOME_DROPPED)] = {15, 1500};
    MetricsInput in;
    in.rules = &rs;
    in.now = &s;
    in.top_k = 1;
    in.syncs["drop"] = SyncRecord{1700000000, 0.25, 2, 2, {{"collateral", 1}}};
    in.attachments = {Attachment{"eth0", 2, XdpMode::native, Match::both, false, false}};
    in.attached["eth0"] = true;
    in.capacity = Capacity{100, 50, 64};
    std::string t = render_metrics(in);
    for (const char* fam : {"prefixwall_packets_total", "prefixwall_bytes_total", "prefixwall_source_packets_total",
                            "prefixwall_source_bytes_total", "prefixwall_prefix_packets_total",
                            "prefixwall_prefix_bytes_total", "prefixwall_rules", "prefixwall_rules_capacity",
                            "prefixwall_sync_last_success_timestamp_seconds", "prefixwall_sync_duration_seconds",
                            "prefixwall_sync_failures_total", "prefixwall_sync_entries",
                            "prefixwall_sync_refusals_total",
                            "prefixwall_interface_attached", "prefixwall_build_info"}) {
        CAPTURE(fam);
        std::string type = "# TYPE " + std::string(fam) + " ";
        CHECK(t.find(type) != std::string::npos);
        CHECK(t.find(type) == t.rfind(type)); // one TYPE line per family
    }
    CHECK(t.find("prefixwall_packets_total{family=\"ipv4\",outcome=\"dropped\"} 15\n") != std::string::npos);
    // top K = 1: only the busiest prefix, once per source that lists it.
    CHECK(t.find("prefixwall_prefix_packets_total{prefix=\"198.51.100.0/24\",source=\"court\",action=\"block\"} 10\n") != std::string::npos);
    CHECK(t.find("prefixwall_prefix_packets_total{prefix=\"198.51.100.0/24\",source=\"drop\",action=\"block\"} 10\n") != std::string::npos);
    CHECK(t.find("prefix=\"192.0.2.0/24\"") == std::string::npos);
    CHECK(t.find("prefixwall_sync_failures_total{source=\"drop\"} 2\n") != std::string::npos);
    CHECK(t.find("prefixwall_sync_refusals_total{source=\"drop\",guard=\"collateral\"} 1\n") != std::string::npos);
    CHECK(t.find("prefixwall_sync_refusals_total{source=\"drop\",guard=\"removal\"} 0\n") != std::string::npos);
    CHECK(t.find("prefixwall_interface_attached{interface=\"eth0\",mode=\"native\",match=\"both\"} 1\n") != std::string::npos);
    CHECK(t.find("prefixwall_rules{family=\"ipv4\",action=\"block\",source=\"drop\"} 2\n") != std::string::npos);
}

TEST_CASE("feed metrics: state, counts, update latency, holds; promtool accepts the exposition")
{
    RuleSet rs = sample_rules();
    LoadSnapshot s;
    MetricsInput in;
    in.rules = &rs;
    in.now = &s;
    FeedStatus up;
    up.state = "up";
    up.pid = ::getpid();
    up.announced = 7;
    up.withdrawn = 2;
    up.versions = 4;
    up.routes = 5;
    up.last_update = 1700000000;
    up.latency_p50 = 0.0005;
    up.latency_p99 = 0.01;
    up.latency_sum = 0.02;
    up.latency_count = 6;
    in.feeds["rs"] = up;
    FeedStatus gone = up;
    gone.pid = 0x3fffffff; // no such process: its last word was "up"
    in.feeds["old"] = gone;
    in.holds["old"] = 1700000900;
    std::string t = render_metrics(in);
    CHECK(t.find("prefixwall_feed_up{source=\"rs\"} 1\n") != std::string::npos);
    CHECK(t.find("prefixwall_feed_up{source=\"old\"} 0\n") != std::string::npos);
    CHECK(t.find("prefixwall_feed_state{source=\"old\",state=\"gone\"} 1\n") != std::string::npos);
    CHECK(t.find("prefixwall_feed_state{source=\"rs\",state=\"up\"} 1\n") != std::string::npos);
    CHECK(t.find("prefixwall_feed_announced_prefixes_total{source=\"rs\"} 7\n") != std::string::npos);
    CHECK(t.find("prefixwall_feed_withdrawn_prefixes_total{source=\"rs\"} 2\n") != std::string::npos);
    CHECK(t.find("prefixwall_feed_versions_total{source=\"rs\"} 4\n") != std::string::npos);
    CHECK(t.find("prefixwall_feed_routes{source=\"rs\"} 5\n") != std::string::npos);
    CHECK(t.find("prefixwall_feed_update_latency_seconds{source=\"rs\",quantile=\"0.99\"} 0.01\n") != std::string::npos);
    CHECK(t.find("prefixwall_feed_update_latency_seconds_count{source=\"rs\"} 6\n") != std::string::npos);
    CHECK(t.find("prefixwall_hold_until_timestamp_seconds{source=\"old\"} 1700000900\n") != std::string::npos);

    if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
        MESSAGE("promtool is not installed: the exposition is not checked by it");
        return;
    }
    pwtest::TempDir dir("metrics");
    std::string file = (dir.path / "metrics.txt").string();
    std::FILE* f = std::fopen(file.c_str(), "w");
    REQUIRE(f);
    std::fputs(t.c_str(), f);
    std::fclose(f);
    CHECK(std::system(("promtool check metrics < " + file + " >/dev/null 2>&1").c_str()) == 0);
}
