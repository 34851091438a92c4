#include "registry/sync.hpp"

#include "base/error.hpp"
#include "registry/collateral_guard.hpp"
#include "store/impact.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <map>
#include <ostream>

namespace pw {

namespace {

// Collects a source's entries, then sorts them and keeps one per prefix
// (the first reference wins); rejections counted and the first 100 kept.
// Appending and sorting once costs a fraction of a tree insert per entry.
class Collector : public EntrySink {
public:
    Collector(SyncReport& r, size_t max_entries) : r_(r), max_(max_entries) {}
    void entry(Entry&& e) override
    {
        r_.parsed++;
        r_.masked += e.masked;
        // Duplicates count once; a list far past the limit stops here.
        if (entries_.size() / 4 >= max_)
            too_many();
        entries_.push_back({e.prefix, std::move(e.ref)});
    }
    void reject(Rejection&& x) override
    {
        r_.rejected++;
        if (r_.rejections.size() < 100)
            r_.rejections.push_back(std::move(x));
    }
    // The distinct entries, sorted by prefix.
    SortedEntries take()
    {
        auto by_prefix = [](const auto& a, const auto& b) { return a.prefix < b.prefix; };
        // Registries are mostly published sorted, or sorted with additions
        // at the end: only the part after the sorted run is sorted, then
        // merged (both stable: the first of equal prefixes stays first).
        auto sorted_end = std::is_sorted_until(entries_.begin(), entries_.end(), by_prefix);
        if (sorted_end != entries_.end()) {
            std::stable_sort(sorted_end, entries_.end(), by_prefix);
            std::inplace_merge(entries_.begin(), sorted_end, entries_.end(), by_prefix);
        }
        auto end = std::unique(entries_.begin(), entries_.end(),
                               [](const auto& a, const auto& b) { return a.prefix == b.prefix; });
        r_.duplicates = static_cast<size_t>(entries_.end() - end);
        entries_.erase(end, entries_.end());
        if (entries_.size() > max_)
            too_many();
        return std::move(entries_);
    }

private:
    [[noreturn]] void too_many() const
    {
        throw Error("source '" + r_.source + "' lists more than " + std::to_string(max_) +
                    " entries (--max-entries); nothing changed");
    }
    SyncReport& r_;
    size_t max_;
    SortedEntries entries_;
};

// Everything besides the bytes that decides what a sync puts in force: a
// conditional fetch ("not modified") is only trusted when it is unchanged.
std::string settings_key(const SourceSpec& s, const SyncOptions& o)
{
    std::string k = std::string(s.format ? format_name(*s.format) : "auto") + ";" +
                    action_name(s.action) + ";";
    for (const auto& t : s.rkn_block_types)
        k += t + ",";
    const GuardOptions& g = o.guards;
    k += ";" + std::to_string(g.min_len_v4) + ";" + std::to_string(g.min_len_v6) + ";" +
         std::to_string(g.allow_private) + ";" + std::to_string(g.protect_host_addresses) + ";";
    for (const auto& p : g.protect)
        k += p.to_string() + ",";
    if (s.scope.scoped()) // (absent when unscoped: keys from before scopes stay valid)
        k += ";scope " + s.scope.to_string();
    if (s.expire_s)
        k += ";expire " + std::to_string(s.expire_s);
    return k;
}

std::string locations_key(const SourceSpec& s)
{
    std::string k;
    for (const auto& l : s.locations)
        k += l + "\n";
    return k;
}

class ProgressLine {
public:
    explicit ProgressLine(bool on) : on_(on) {}
    ~ProgressLine()
    {
        if (shown_)
            std::fputs("\r\033[K", stderr);
    }
    void update(uint64_t bytes, size_t lines, size_t entries)
    {
        if (!on_)
            return;
        auto now = std::chrono::steady_clock::now();
        if (now - last_ < std::chrono::milliseconds(200))
            return;
        last_ = now;
        shown_ = true;
        std::fprintf(stderr, "\r\033[Kfetched %.1f MB, %zu lines, %zu entries", bytes / 1e6, lines,
                     entries);
    }
    void say(const char* what)
    {
        if (!on_)
            return;
        shown_ = true;
        std::fprintf(stderr, "\r\033[K%s", what);
    }

private:
    bool on_, shown_ = false;
    std::chrono::steady_clock::time_point last_{};
};

} // namespace

namespace {

double since(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

} // namespace

FetchedSource fetch_source(const SourceSpec& spec, const SyncOptions& opts, const SourceMeta& meta)
{
    FetchedSource fs;
    fs.spec = spec;
    fs.started = std::chrono::steady_clock::now();
    SyncReport& r = fs.report;
    auto lap = fs.started;
    auto phase = [&](const char* name) {
        auto now = std::chrono::steady_clock::now();
        r.phases.emplace_back(name, std::chrono::duration<double>(now - lap).count());
        lap = now;
    };
    r.source = spec.name;
    if (spec.locations.empty())
        throw Error("source '" + spec.name + "': no location");

    // 1. Fetch and parse. Any failure throws before anything changes.
    Collector col(r, opts.fetch.max_entries);
    ParseOptions popts = opts.parse;
    popts.rkn_block_types = spec.rkn_block_types;
    std::unique_ptr<Parser> parser;
    std::string head;
    ProgressLine progress(opts.progress);
    auto consume = [&](std::string_view chunk) {
        if (!parser) {
            head.append(chunk);
            if (head.size() < 4096)
                return;
            r.format = spec.format.value_or(detect_format(head));
            parser = make_parser(r.format, col, popts);
            std::string h = std::move(head);
            parser->feed(h);
            return;
        }
        parser->feed(chunk);
    };
    // A 304 (or, for a file, the same modification time and size) means
    // "what you applied last time is still current": trusted only when the
    // last good sync came from this location (add and del on the source's
    // own claims forget the validators).
    bool conditional = spec.locations.size() == 1 && meta.locations == locations_key(spec) &&
                       meta.settings == settings_key(spec, opts);
    uint64_t done_bytes = 0;
    FetchResult last;
    for (const auto& loc : spec.locations) {
        FetchOptions fo = opts.fetch;
        if (fo.insecure_tls && loc.rfind("https:", 0) == 0)
            r.warnings.push_back("TLS certificate verification is OFF for " + loc +
                                 " (--insecure-tls): anyone on the path can change this source's rules");
        if (conditional) {
            fo.etag = meta.etag;
            fo.last_modified = meta.last_modified;
        }
        last = fetch(loc, fo, consume, [&](uint64_t b) {
            progress.update(done_bytes + b, parser ? parser->stats().lines : 0, r.parsed);
        });
        if (last.not_modified) {
            r.not_modified = true;
            r.seconds = since(fs.started);
            return fs;
        }
        done_bytes += last.bytes;
    }
    r.bytes = done_bytes;
    if (!parser) {
        r.format = spec.format.value_or(detect_format(head));
        parser = make_parser(r.format, col, popts);
        parser->feed(head);
    }
    parser->finish();
    r.lines = parser->stats().lines;
    if (opts.strict && r.rejected > 0)
        throw Error("source '" + spec.name + "': " + std::to_string(r.rejected) +
                    " rejected lines with --strict (first: line " +
                    std::to_string(r.rejections[0].line) + ": " + r.rejections[0].reason + ")");

    phase("fetch+parse");
    // 2. Guards on the new entries.
    progress.say("checking guards");
    Guards guards(opts.guards);
    SortedEntries entries = col.take();
    SortedEntries accepted;
    accepted.reserve(entries.size());
    for (auto& e : entries) {
        if (stops_traffic(spec.action)) {
            if (auto refusal = guards.check_block(e.prefix)) {
                r.refused_by_guard[refusal->guard]++;
                if (r.refusals.size() < 100)
                    r.refusals.push_back(std::move(*refusal));
                continue;
            }
        }
        accepted.push_back({e.prefix, std::move(e.ref), spec.action});
    }

    phase("guards");
    fs.accepted = std::move(accepted);
    fs.etag = last.etag;
    fs.last_modified = last.last_modified;
    return fs;
}

SyncReport apply_source(Controller& ctl, FetchedSource&& fs, const SyncOptions& opts)
{
    SyncReport r = std::move(fs.report);
    const SourceSpec& spec = fs.spec;
    const auto now = static_cast<int64_t>(::time(nullptr));
    // A claim of a source with expire= lapses unless renewed: a sync that
    // still lists it moves its deadline on once half of it has passed
    // (so an unchanged registry costs no write at every sync).
    auto deadline_for = [&](const Claim* have) -> int64_t {
        if (!spec.expire_s)
            return 0;
        const int64_t fresh = now + static_cast<int64_t>(spec.expire_s);
        if (have && have->expires && have->expires <= fresh &&
            have->expires - now > static_cast<int64_t>(spec.expire_s / 2))
            return have->expires;
        return fresh;
    };
    if (r.not_modified) {
        // Unchanged: every claim is still listed, and renewed when due.
        if (spec.expire_s) {
            ChangeSet renew;
            ctl.view().for_each_claim(spec.name, [&](const Prefix& p, const Claim& have) {
                if (int64_t d = deadline_for(&have); d != have.expires) {
                    Claim c = have;
                    c.expires = d;
                    renew.push_back({p, spec.name, c});
                }
                return true;
            });
            if (!renew.empty() && !opts.dry_run) {
                ctl.note_next_commit("sync " + spec.name + " (renewed)");
                ctl.commit(renew);
            }
            r.renewed = renew.size();
        }
        return r;
    }
    const SortedEntries& accepted = fs.accepted;
    auto lap = std::chrono::steady_clock::now();
    auto phase = [&](const char* name) {
        auto now = std::chrono::steady_clock::now();
        r.phases.emplace_back(name, std::chrono::duration<double>(now - lap).count());
        lap = now;
    };
    ProgressLine progress(opts.progress);
    // An ICMP scope fits one family: an entry of the other is an error.
    if (spec.scope.proto == 1 || spec.scope.proto == 58)
        for (const SourceEntry& e : accepted)
            spec.scope.check_family(e.prefix);
    // 3. The change: the source's entries (sorted) merged with its claims
    //    in the store (sorted the same way); other sources are not read.
    ChangeSet changes;
    std::vector<Prefix> added_blocks;
    size_t previous = 0, i = 0;
    auto add = [&](const SourceEntry& e) {
        r.added++;
        if (stops_traffic(e.action))
            added_blocks.push_back(e.prefix);
        changes.push_back({e.prefix, spec.name, Claim{e.action, e.ref, spec.scope, deadline_for(nullptr)}});
    };
    ctl.view().for_each_claim(spec.name, [&](const Prefix& p, const Claim& have) {
        previous++;
        while (i < accepted.size() && accepted[i].prefix < p)
            add(accepted[i++]);
        if (i < accepted.size() && accepted[i].prefix == p) {
            r.unchanged++;
            const SourceEntry& e = accepted[i];
            const int64_t deadline = deadline_for(&have);
            if (have.action != e.action || have.comment != e.ref || have.scope != spec.scope ||
                have.expires != deadline) {
                r.renewed += have.expires && deadline != have.expires;
                changes.push_back({p, spec.name, Claim{e.action, e.ref, spec.scope, deadline}});
            }
            i++;
        } else {
            r.removed++;
            changes.push_back({p, spec.name, std::nullopt});
        }
        return true;
    });
    while (i < accepted.size())
        add(accepted[i++]);
    std::stable_sort(added_blocks.begin(), added_blocks.end(),
                     [](const Prefix& a, const Prefix& b) {
                         return (max_len(a.family) - a.len) > (max_len(b.family) - b.len);
                     });
    added_blocks.resize(std::min<size_t>(added_blocks.size(), 5));
    r.broadest_added = added_blocks;
    phase("diff");

    // 4. The removal guard: an empty or truncated download looks exactly
    //    like a registry that dropped most of its entries.
    if (previous > 0 && !opts.guards.force &&
        static_cast<double>(r.removed) > opts.guards.max_removal * static_cast<double>(previous)) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), "%.0f%%", 100.0 * r.removed / previous);
        r.refused = "would remove " + std::to_string(r.removed) + " of " +
                    std::to_string(previous) + " entries (" + buf + ", more than --max-removal " +
                    std::to_string(opts.guards.max_removal).substr(0, 4) + "); --force to apply";
        r.refused_guard = "removal";
    }

    // 5. The commit (or, dry or refused, the change evaluated and dropped):
    //    its report carries the impact, in addresses.
    const bool dry = opts.dry_run || !r.refused.empty();
    if (!dry)
        progress.say("applying");
    CollateralResult coll;
    CommitReport c;
    try {
        ctl.note_next_commit("sync " + spec.name);
        c = ctl.commit(changes, collateral_check(opts.guards, changes, &coll), dry);
    } catch (const CollateralRefused& e) {
        c = e.report;
        r.refused = e.what();
        r.refused_guard = "collateral";
    }
    if (coll.counted)
        r.collateral = coll.collateral;
    if (!coll.forced.empty())
        r.warnings.push_back("collateral guard overridden by --force: " + coll.forced);
    const bool applied = !dry && r.refused.empty();
    r.v4_blocked_before = to_string(c.blocked_before[0]);
    r.v4_blocked_after = to_string(c.blocked_after[0]);
    r.v4_newly_blocked = to_string(c.newly_blocked[0]);
    r.v6_64s_blocked_after = to_string(c.blocked_after[1]);
    r.v6_64s_newly_blocked = to_string(c.newly_blocked[1]);
    if (applied) {
        r.rules_inserted = c.inserted;
        r.rules_updated = c.updated;
        r.rules_erased = c.erased;
        r.in_force_seconds = c.in_force_seconds;
        r.in_force_at = c.in_force_at;
        r.applied = true;
        phase("commit");
        for (const auto& [name, secs] : c.phases)
            r.phases.emplace_back("commit: " + name, secs);
        SourceMeta m = ctl.store().load_source_meta(spec.name);
        m.last_success = static_cast<int64_t>(::time(nullptr));
        m.last_duration = since(fs.started);
        m.locations = locations_key(spec);
        m.settings = settings_key(spec, opts);
        m.entries = accepted.size();
        if (spec.locations.size() == 1) {
            m.etag = fs.etag;
            m.last_modified = fs.last_modified;
        }
        ctl.store().save_source_meta(spec.name, m);
    } else {
        phase("impact");
    }
    r.seconds = since(fs.started);
    return r;
}

SyncReport sync_source(Controller& ctl, const SourceSpec& spec, const SyncOptions& opts)
{
    FetchedSource fs = fetch_source(spec, opts, ctl.store().load_source_meta(spec.name));
    return apply_source(ctl, std::move(fs), opts);
}

} // namespace pw
