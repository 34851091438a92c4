#include "report/metrics.hpp"

#include "base/version.hpp"
#include "report/exposition.hpp"
#include "report/render.hpp"

#include <cerrno>
#include <signal.h>

namespace pw {

namespace {

// The BGP feeds (`prefixwall feed`), from the status each writes.
void render_feeds(Exposition& e, const MetricsInput& in)
{
    static const char* const kStates[] = {"idle", "collecting", "up", "over-limit", "refused", "failed", "down", "gone"};
    auto state_of = [](const FeedStatus& s) {
        // A feed that is gone (killed, or its ExaBGP stopped) left its last word.
        return s.pid > 0 && ::kill(static_cast<pid_t>(s.pid), 0) != 0 && errno == ESRCH ? std::string("gone") : s.state;
    };
    e.family("prefixwall_feed_up", "gauge", "1 when the feed's BGP session is up and its updates are applied.");
    for (const auto& [name, s] : in.feeds)
        e.sample("prefixwall_feed_up", {{"source", name}}, static_cast<uint64_t>(state_of(s) == "up"));
    e.family("prefixwall_feed_state", "gauge", "The feed's state: 1 for the one it is in.");
    for (const auto& [name, s] : in.feeds) {
        std::string now = state_of(s);
        for (const char* st : kStates)
            e.sample("prefixwall_feed_state", {{"source", name}, {"state", st}}, static_cast<uint64_t>(now == st));
    }
    e.family("prefixwall_feed_announced_prefixes_total", "counter", "Prefixes announced to the feed since it started.");
    for (const auto& [name, s] : in.feeds)
        e.sample("prefixwall_feed_announced_prefixes_total", {{"source", name}}, s.announced);
    e.family("prefixwall_feed_withdrawn_prefixes_total", "counter", "Prefixes withdrawn from the feed since it started.");
    for (const auto& [name, s] : in.feeds)
        e.sample("prefixwall_feed_withdrawn_prefixes_total", {{"source", name}}, s.withdrawn);
    e.family("prefixwall_feed_versions_total", "counter", "Versions the feed committed (initial tables and coalesced updates).");
    for (const auto& [name, s] : in.feeds)
        e.sample("prefixwall_feed_versions_total", {{"source", name}}, s.versions);
    e.family("prefixwall_feed_routes", "gauge", "Routes of the feed's session in force.");
    for (const auto& [name, s] : in.feeds)
        e.sample("prefixwall_feed_routes", {{"source", name}}, s.routes);
    e.family("prefixwall_feed_last_update_timestamp_seconds", "gauge", "When the feed last read an UPDATE (unix time; 0: never).");
    for (const auto& [name, s] : in.feeds)
        e.sample("prefixwall_feed_last_update_timestamp_seconds", {{"source", name}}, s.last_update);
    e.family("prefixwall_feed_update_latency_seconds", "summary",
             "From an UPDATE line read to its change in force in the maps, the swap issued (quantiles over the last 10,000).");
    for (const auto& [name, s] : in.feeds) {
        e.sample("prefixwall_feed_update_latency_seconds", {{"source", name}, {"quantile", "0.5"}}, s.latency_p50);
        e.sample("prefixwall_feed_update_latency_seconds", {{"source", name}, {"quantile", "0.99"}}, s.latency_p99);
        e.sample("prefixwall_feed_update_latency_seconds_sum", {{"source", name}}, s.latency_sum);
        e.sample("prefixwall_feed_update_latency_seconds_count", {{"source", name}}, s.latency_count);
    }
    e.family("prefixwall_hold_until_timestamp_seconds", "gauge",
             "A source held after its BGP session was lost: when its claims are withdrawn (unix time).");
    for (const auto& [name, until] : in.holds)
        e.sample("prefixwall_hold_until_timestamp_seconds", {{"source", name}}, static_cast<double>(until));
}

// A prefix series' labels: the rule's prefix and action, the claiming
// source, and the claim's L4 scope when it has one.
Labels prefix_labels(const Rule& r, const std::string& source, const Claim& claim)
{
    Labels l{{"prefix", r.prefix.to_string()}, {"source", source}, {"action", action_name(r.action())}};
    if (claim.scope.scoped())
        l.emplace_back("scope", claim.scope.to_string());
    return l;
}

} // namespace

std::string render_metrics(const MetricsInput& in)
{
    Exposition e;
    const RuleView& rules = *in.rules;

    e.family("prefixwall_packets_total", "counter",
             "Packets judged by the XDP program, by address family and outcome.");
    for (unsigned f = 0; f < PW_FAMILY_MAX; f++)
        for (unsigned o = 0; o < PW_OUTCOME_MAX; o++)
            e.sample("prefixwall_packets_total", {{"family", family_label(f)}, {"outcome", outcome_name(o)}},
                     in.now->global[global_index(f, o)].packets);
    e.family("prefixwall_bytes_total", "counter",
             "Bytes of the packets judged by the XDP program, by address family and outcome.");
    for (unsigned f = 0; f < PW_FAMILY_MAX; f++)
        for (unsigned o = 0; o < PW_OUTCOME_MAX; o++)
            e.sample("prefixwall_bytes_total", {{"family", family_label(f)}, {"outcome", outcome_name(o)}},
                     in.now->global[global_index(f, o)].bytes);

    auto sources = source_loads(rules, *in.now, in.retired);
    e.family("prefixwall_source_packets_total", "counter",
             "Packets that matched the rules of a source (rules since removed included).");
    for (const auto& s : sources)
        e.sample("prefixwall_source_packets_total", {{"source", s.source}, {"action", s.action}}, s.counter.packets);
    e.family("prefixwall_source_bytes_total", "counter",
             "Bytes that matched the rules of a source (rules since removed included).");
    for (const auto& s : sources)
        e.sample("prefixwall_source_bytes_total", {{"source", s.source}, {"action", s.action}}, s.counter.bytes);

    // The top K prefixes by recent packet rate (by total without a
    // previous snapshot), one series per (prefix, source).
    auto top = rank_rules(rules, *in.now, in.before, in.before ? SortKey::pps : SortKey::packets, in.top_k);
    e.family("prefixwall_prefix_packets_total", "counter",
             "Packets that matched a prefix; only the top K prefixes by recent rate.");
    for (const auto& r : top)
        for (const auto& [name, claim] : r.rule->claims)
            e.sample("prefixwall_prefix_packets_total", prefix_labels(*r.rule, name, claim), r.counter.packets);
    e.family("prefixwall_prefix_bytes_total", "counter",
             "Bytes that matched a prefix; only the top K prefixes by recent rate.");
    for (const auto& r : top)
        for (const auto& [name, claim] : r.rule->claims)
            e.sample("prefixwall_prefix_bytes_total", prefix_labels(*r.rule, name, claim), r.counter.bytes);

    // Rules in force per family, action and source (claims).
    e.family("prefixwall_rules", "gauge", "Prefixes in force, by family, action and source.");
    for (const auto& [name, counts] : rules.sources())
        for (Family f : {Family::v4, Family::v6})
            for (Action a : kActions)
                if (uint64_t n = counts[fam_index(f)][action_slot(a)])
                    e.sample("prefixwall_rules", {{"family", family_name(f)}, {"action", action_name(a)}, {"source", name}}, n);
    e.family("prefixwall_rules_scoped", "gauge", "Prefixes in force with a claim scoped to L4 (protocol, ports).");
    for (Family f : {Family::v4, Family::v6})
        e.sample("prefixwall_rules_scoped", {{"family", family_name(f)}}, static_cast<uint64_t>(rules.count_scoped(f)));
    e.family("prefixwall_rules_capacity", "gauge", "Rules each family's map can hold.");
    e.sample("prefixwall_rules_capacity", {{"family", "ipv4"}}, static_cast<uint64_t>(in.capacity.max_rules_v4));
    e.sample("prefixwall_rules_capacity", {{"family", "ipv6"}}, static_cast<uint64_t>(in.capacity.max_rules_v6));

    e.family("prefixwall_sync_last_success_timestamp_seconds", "gauge",
             "When a source last synced successfully (unix time).");
    for (const auto& [name, s] : in.syncs)
        e.sample("prefixwall_sync_last_success_timestamp_seconds", {{"source", name}}, s.last_success);
    e.family("prefixwall_sync_duration_seconds", "gauge", "How long a source's last sync took.");
    for (const auto& [name, s] : in.syncs)
        e.sample("prefixwall_sync_duration_seconds", {{"source", name}}, s.last_duration);
    e.family("prefixwall_sync_failures_total", "counter",
             "Syncs of a source that failed or were refused by a guard.");
    for (const auto& [name, s] : in.syncs)
        e.sample("prefixwall_sync_failures_total", {{"source", name}}, s.failures);
    e.family("prefixwall_sync_refusals_total", "counter",
             "Syncs of a source refused by a guard (removal, collateral): the last good version stayed in force.");
    for (const auto& [name, s] : in.syncs)
        for (const char* guard : {"removal", "collateral"}) {
            auto it = s.refusals.find(guard);
            e.sample("prefixwall_sync_refusals_total", {{"source", name}, {"guard", guard}},
                     it == s.refusals.end() ? uint64_t{0} : it->second);
        }
    e.family("prefixwall_sync_entries", "gauge", "Entries of a source in force after its last good sync.");
    for (const auto& [name, s] : in.syncs)
        e.sample("prefixwall_sync_entries", {{"source", name}}, static_cast<uint64_t>(s.entries));

    e.family("prefixwall_interface_attached", "gauge", "1 when the XDP program is attached to the interface.");
    for (const auto& a : in.attachments) {
        auto it = in.attached.find(a.ifname);
        e.sample("prefixwall_interface_attached",
                 {{"interface", a.ifname}, {"mode", mode_name(a.mode)}, {"match", match_name(a.match)}},
                 static_cast<uint64_t>(it != in.attached.end() && it->second));
    }
    render_feeds(e, in);
    e.family("prefixwall_rules_version", "gauge", "The rules' version: each commit that changes a claim is one.");
    e.sample("prefixwall_rules_version", {}, in.version);
    e.family("prefixwall_rules_version_timestamp_seconds", "gauge", "When the last version was committed (unix time).");
    e.sample("prefixwall_rules_version_timestamp_seconds", {}, static_cast<double>(in.version_time));
    e.family("prefixwall_claims_expiring", "gauge",
             "Claims with a deadline (add --expire/--until, a source's expire=), withdrawn when it passes.");
    e.sample("prefixwall_claims_expiring", {}, static_cast<uint64_t>(in.expiring));
    e.family("prefixwall_claims_next_expiry_timestamp_seconds", "gauge",
             "When the next claim expires (unix time; 0: none).");
    e.sample("prefixwall_claims_next_expiry_timestamp_seconds", {}, static_cast<double>(in.next_expiry));

    e.family("prefixwall_build_info", "gauge", "Version of prefixwall, as a label.");
    e.sample("prefixwall_build_info", {{"version", version()}}, uint64_t{1});
    return e.text();
}

MetricsInput metrics_input(const RuleDb::Read& rules, const StateStore& store, const Dataplane* dp,
                           const LoadSnapshot& now, const LoadSnapshot* before, size_t top_k)
{
    MetricsInput in;
    in.rules = &rules;
    in.now = &now;
    in.before = before;
    in.top_k = top_k;
    in.retired = store.load_retired();
    for (const auto& name : store.synced_sources()) {
        SourceMeta m = store.load_source_meta(name);
        in.syncs[name] = SyncRecord{static_cast<double>(m.last_success), m.last_duration, m.failures,
                                    m.entries, m.refusals};
    }
    in.attachments = store.load_attachments();
    in.feeds = store.load_feed_statuses();
    in.holds = store.load_holds();
    std::tie(in.expiring, in.next_expiry) = rules.expiring();
    in.version = rules.latest_version();
    if (auto last = rules.last_version())
        in.version_time = last->time;
    if (dp) {
        in.capacity = dp->capacity();
        for (const auto& a : in.attachments)
            in.attached[a.ifname] = dp->attached(a.ifname);
    }
    return in;
}

} // namespace pw
