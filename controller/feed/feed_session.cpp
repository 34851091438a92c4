#include "feed/feed_session.hpp"


#include <algorithm>
#include <cmath>
#include <ctime>
#include <unistd.h>

namespace pw {

namespace {

constexpr size_t kLatencyWindow = 10000;
constexpr uint64_t kRefusalsLogged = 5; // per session: then only counted

double seconds_between(FeedSession::Clock::time_point a, FeedSession::Clock::time_point b)
{
    return std::chrono::duration<double>(b - a).count();
}

std::string ms(double seconds)
{
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f ms", seconds * 1000);
    return buf;
}

// "diff 1.0 ms, commit: store 3.1 ms, ..." of a sync report.
std::string phases(const SyncReport& r)
{
    std::string out;
    for (const auto& [name, secs] : r.phases)
        out += (out.empty() ? "" : ", ") + name + " " + ms(secs);
    return out;
}

std::string utc(int64_t t)
{
    char buf[32];
    std::time_t tt = t;
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
    return buf;
}

} // namespace

FeedSession::FeedSession(FeedOptions o, ControllerFn controller, LogFn log)
    : opts_(std::move(o)), controller_(std::move(controller)), log_(std::move(log)),
      guards_(opts_.sync.guards)
{
    status_.state = "idle";
    status_.pid = ::getpid();
}

bool FeedSession::on_line(std::string_view line, Clock::time_point read_at)
{
    if (line.find_first_not_of(" \t\r") == std::string_view::npos)
        return true;
    try {
        on_message(parse_exabgp_line(line), read_at);
    } catch (const ApiVersionError& e) {
        log_(std::string("error: ") + e.what() + "; stopping, the rules in force stay");
        return false;
    } catch (const Error& e) {
        log_(std::string("error: line skipped, nothing changed: ") + e.what());
    }
    return true;
}

void FeedSession::on_message(const FeedMessage& m, Clock::time_point read_at)
{
    using T = FeedMessage::Type;
    switch (m.type) {
    case T::state:
        if (m.state == "up")
            session_up(m, read_at);
        else if (m.state == "down")
            session_down("session with " + m.peer + " down" + (m.reason.empty() ? "" : " (" + m.reason + ")"));
        break;
    case T::update:
        update(m, read_at);
        break;
    case T::eor:
        end_of_rib(m, read_at);
        break;
    case T::shutdown:
        on_end("ExaBGP is shutting down");
        break;
    case T::notification:
        break; // a "down" state follows
    case T::ignored:
        if (!m.unknown_type.empty())
            log_("error: unknown ExaBGP message type '" + m.unknown_type + "', line skipped, nothing changed");
        break;
    }
}

void FeedSession::resume_hold(int64_t until)
{
    holding_ = true;
    held_until_ = until;
    set_state("down");
}

void FeedSession::set_state(const std::string& s)
{
    if (status_.state != s) {
        status_.state = s;
        transition_ = true;
    }
}

bool FeedSession::take_transition()
{
    bool t = transition_;
    transition_ = false;
    return t;
}

void FeedSession::session_up(const FeedMessage& m, Clock::time_point now)
{
    // A new session's table replaces whatever the last one left: pending
    // changes of the old one (a missed "down") are dropped with it.
    drop_pending();
    table_.clear();
    eor_seen_.clear();
    refused_by_guard_ = not_applied_ = 0;
    live_without_session_ = false;
    collecting_since_ = now;
    status_.peer = m.peer;
    status_.peer_as = m.peer_as;
    status_.routes = 0;
    set_state("collecting");
    std::string fams;
    for (Family f : opts_.families)
        fams += std::string(fams.empty() ? "" : " and ") + family_name(f);
    log_("session with " + m.peer + " AS" + std::to_string(m.peer_as) +
         " up: collecting the initial table until end-of-RIB for " + fams);
}

void FeedSession::session_down(const std::string& why)
{
    // ExaBGP repeats "down" while it retries a peer that is gone: one
    // transition, one line, one hold.
    if (status_.state == "down" || status_.state == "idle")
        return;
    if (status_.state == "up")
        commit_pending();
    table_.clear();
    start_hold(why);
}

void FeedSession::on_end(const std::string& why)
{
    if (status_.state == "up")
        commit_pending();
    if (status_.state == "down" && !holding_) {
        log_(why); // the hold is over: nothing left to hold
        return;
    }
    start_hold(why);
}

void FeedSession::start_hold(const std::string& why)
{
    drop_pending();
    live_without_session_ = false;
    set_state("down");
    if (holding_) {
        log_(why + (held_until_ ? "; the claims stay held until " + utc(*held_until_) : "; the claims stay held"));
        return;
    }
    holding_ = true;
    if (opts_.hold_after_down_s == 0) {
        log_(why + "; the claims stay in force until a new session replaces them (--hold-after-down 0)");
        return;
    }
    int64_t until = static_cast<int64_t>(::time(nullptr)) + opts_.hold_after_down_s;
    try {
        controller_().hold_claims(opts_.source, until);
        held_until_ = until;
        log_(why + "; the claims stay in force for " + std::to_string(opts_.hold_after_down_s) +
             " s (until " + utc(until) + "), then are withdrawn unless a new session replaces them");
    } catch (const std::exception& e) {
        holding_ = false;
        log_(why + "; error: the hold could not be stored (" + e.what() +
             "): the claims stay in force until a new session replaces them");
    }
}

void FeedSession::stop(const std::string& why)
{
    table_.clear();
    drop_pending();
    log_(why);
}

void FeedSession::update(const FeedMessage& m, Clock::time_point read_at)
{
    status_.announced += m.announced.size();
    status_.withdrawn += m.withdrawn.size();
    status_.last_update = static_cast<double>(::time(nullptr));
    for (const auto& f : m.other_families)
        log_("note: routes of family '" + f + "' skipped (the filter reads ipv4 and ipv6 unicast)");

    const std::string& st = status_.state;
    if (st == "idle" || st == "down") {
        // Updates with no session start seen: ExaBGP restarted this
        // process mid-session (it does not replay the table). They are
        // applied to the claims in force.
        if (!live_without_session_)
            log_("updates without a session start (ExaBGP restarted the feed?): applied to the claims in force");
        live_without_session_ = true;
        if (holding_) {
            // A session is sending updates: it is up, and the claims it
            // left are not to be withdrawn.
            try {
                controller_().release_hold(opts_.source);
                holding_ = false;
                held_until_.reset();
                log_("the session is alive: the hold on its claims is ended");
            } catch (const std::exception& e) {
                log_(std::string("error: the hold could not be ended (") + e.what() + ")");
            }
        }
        status_.peer = m.peer;
        status_.peer_as = m.peer_as;
        set_state("up");
    } else if (st != "collecting" && st != "up") {
        return; // stopped: this session's updates are not applied
    }
    const bool live = status_.state == "up";

    // What this update does to the table, before any of it is applied.
    std::optional<Action> action = opts_.policy.action_for(m.communities);
    std::string ref = action ? RoutePolicy::reference(m) : "";
    std::vector<std::pair<Prefix, std::optional<Route>>> edits;
    long delta = 0;
    for (const auto& p : m.withdrawn)
        if (table_.contains(p)) {
            edits.emplace_back(p, std::nullopt);
            delta--;
        }
    for (const auto& p : m.announced) {
        std::optional<Route> route;
        std::optional<Refusal> refusal;
        if (!action)
            not_applied_++;
        else if (stops_traffic(*action) && (refusal = guards_.check_block(p))) {
            if (++refused_by_guard_ <= kRefusalsLogged)
                log_("refused " + p.to_string() + " (" + refusal->guard + ": " + refusal->detail + ")" +
                     (refused_by_guard_ == kRefusalsLogged ? "; further refusals are only counted" : ""));
        } else {
            route = Route{*action, ref};
        }
        bool had = table_.contains(p);
        if (route) {
            edits.emplace_back(p, std::move(route));
            delta += had ? 0 : 1;
        } else if (had) { // announced again without the community: no longer applied
            edits.emplace_back(p, std::nullopt);
            delta--;
        }
    }
    if (static_cast<long>(table_.size()) + delta > static_cast<long>(opts_.max_prefixes)) {
        std::string what = std::to_string(table_.size() + delta) + " routes, over --max-prefixes " +
                           std::to_string(opts_.max_prefixes);
        if (live) {
            commit_pending();
            set_state("over-limit");
            stop("session with " + status_.peer + ": " + what +
                 ": the table as of the last update within it stays; this session's updates are not applied until it restarts");
        } else {
            set_state("over-limit");
            stop("session with " + status_.peer + ": initial table refused, " + what +
                 ": the claims in force stay; this session's updates are not applied until it restarts");
        }
        return;
    }
    for (auto& [p, route] : edits) {
        if (route)
            table_[p] = *route;
        else
            table_.erase(p);
        if (live)
            pending_[p] = std::move(route);
    }
    if (live && !edits.empty()) {
        pending_reads_.push_back(read_at);
        if (!pending_since_)
            pending_since_ = read_at;
    }
}

void FeedSession::end_of_rib(const FeedMessage& m, Clock::time_point read_at)
{
    if (status_.state != "collecting" || !m.eor_family)
        return;
    eor_seen_.insert(*m.eor_family);
    for (Family f : opts_.families)
        if (!eor_seen_.contains(f))
            return;
    commit_initial(read_at, "end-of-RIB");
}

void FeedSession::commit_initial(Clock::time_point since, const std::string& why)
{
    FetchedSource fs;
    fs.spec.name = opts_.source;
    fs.spec.locations = {"bgp " + status_.peer + " AS" + std::to_string(status_.peer_as)};
    fs.report.source = opts_.source;
    fs.started = since;
    fs.accepted.reserve(table_.size());
    for (const auto& [p, r] : table_)
        fs.accepted.push_back({p, r.ref, r.action});
    size_t routes = table_.size();
    try {
        SyncReport r = apply_source(controller_(), std::move(fs), opts_.sync);
        double took = seconds_between(since, r.in_force_at == Clock::time_point{} ? Clock::now() : r.in_force_at);
        if (!r.refused.empty()) {
            set_state("refused");
            stop("session with " + status_.peer + ": initial table refused: " + r.refused +
                 "; the claims in force stay; this session's updates are not applied until it restarts");
            return;
        }
        status_.versions++;
        status_.routes = routes;
        set_state("up");
        if (holding_) {
            controller_().release_hold(opts_.source);
            holding_ = false;
            held_until_.reset();
        }
        log_("initial table in force (" + why + "): " + std::to_string(routes) + " routes, " +
             std::to_string(r.added) + " added, " + std::to_string(r.removed) + " removed, " +
             std::to_string(refused_by_guard_) + " refused by guards, " + std::to_string(not_applied_) +
             " without a matching community not applied; " + ms(took) + " from " + why + " to in force (" +
             phases(r) + "), " + r.v4_newly_blocked + " IPv4 addresses newly blocked");
    } catch (const std::exception& e) {
        set_state("failed");
        stop("session with " + status_.peer + ": initial table not applied: " + e.what() +
             "; the claims in force stay; this session's updates are not applied until it restarts");
    }
}

void FeedSession::commit_pending()
{
    if (pending_.empty()) {
        drop_pending();
        return;
    }
    ChangeSet changes;
    changes.reserve(pending_.size());
    for (auto& [p, route] : pending_)
        if (route)
            changes.push_back({p, opts_.source, Claim{route->action, std::move(route->ref), {}}});
        else
            changes.push_back({p, opts_.source, std::nullopt});
    pending_.clear();
    try {
        controller_().note_next_commit("feed " + opts_.source);
        CommitReport c = controller_().commit(changes);
        auto now = Clock::now();
        // In force: when the swap was issued (new packets see the new
        // version from then on); the commit returns after the swap's
        // grace period, the old copy's catch-up and the store's commit.
        auto in_force = c.in_force_at == Clock::time_point{} ? now : c.in_force_at;
        for (auto t : pending_reads_)
            record_latency(seconds_between(t, in_force), seconds_between(t, now));
        status_.versions++;
        status_.routes = table_.size();
    } catch (const std::exception& e) {
        set_state("failed");
        stop("session with " + status_.peer + ": an update could not be applied: " + e.what() +
             "; the version before it stays; this session's updates are not applied until it restarts");
    }
    drop_pending();
}

void FeedSession::drop_pending()
{
    pending_.clear();
    pending_reads_.clear();
    pending_since_.reset();
}

void FeedSession::record_latency(double s, double returned)
{
    latencies_.push_back(s);
    returned_.push_back(returned);
    if (latencies_.size() > kLatencyWindow) {
        latencies_.pop_front();
        returned_.pop_front();
    }
    status_.latency_sum += s;
    status_.latency_count++;
    status_.latency_max = std::max(status_.latency_max, s);
}

void FeedSession::tick(Clock::time_point now)
{
    if (pending_since_ && seconds_between(*pending_since_, now) >= opts_.coalesce_s)
        commit_pending();
    if (status_.state == "collecting" && seconds_between(collecting_since_, now) >= opts_.eor_timeout_s) {
        std::string missing;
        for (Family f : opts_.families)
            if (!eor_seen_.contains(f))
                missing += std::string(missing.empty() ? "" : " and ") + family_name(f);
        char secs[32];
        std::snprintf(secs, sizeof(secs), "%g", opts_.eor_timeout_s);
        log_("no end-of-RIB for " + missing + " within " + secs + " s: committing the table as received");
        commit_initial(now, "the end-of-RIB timeout");
    }
    if (held_until_ && static_cast<int64_t>(::time(nullptr)) >= *held_until_) {
        try {
            // One line on stderr, from whichever session withdraws them.
            controller_().expire_holds(static_cast<int64_t>(::time(nullptr)));
        } catch (const std::exception& e) {
            log_(std::string("error: the held claims could not be withdrawn (") + e.what() + "); retrying");
            return;
        }
        held_until_.reset();
        holding_ = false;
        status_.routes = 0;
        transition_ = true;
    }
}

std::optional<FeedSession::Clock::time_point> FeedSession::next_deadline() const
{
    std::optional<Clock::time_point> at;
    auto earliest = [&](Clock::time_point t) {
        if (!at || t < *at)
            at = t;
    };
    if (pending_since_)
        earliest(*pending_since_ + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(opts_.coalesce_s)));
    if (status_.state == "collecting")
        earliest(collecting_since_ + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(opts_.eor_timeout_s)));
    if (held_until_) {
        auto wall = static_cast<int64_t>(::time(nullptr));
        earliest(Clock::now() + std::chrono::seconds(std::max<int64_t>(0, *held_until_ - wall)) +
                 std::chrono::milliseconds(10));
    }
    return at;
}

FeedStatus FeedSession::status() const
{
    FeedStatus s = status_;
    // The q-quantile (nearest rank) of a window.
    auto quantile = [](const std::deque<double>& d, double q) {
        std::vector<double> v(d.begin(), d.end());
        size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
        size_t k = std::min(v.size() - 1, rank > 0 ? rank - 1 : 0);
        std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
        return v[k];
    };
    if (!latencies_.empty()) {
        s.latency_p50 = quantile(latencies_, 0.5);
        s.latency_p99 = quantile(latencies_, 0.99);
        s.returned_p50 = quantile(returned_, 0.5);
        s.returned_p99 = quantile(returned_, 0.99);
    }
    return s;
}

} // namespace pw
