// A BGP feed as a source: the routes a peer announces, read from
// ExaBGP's JSON stream, kept equal to one source's claims.
//
//   session up ──▶ collecting: the initial table, until end-of-RIB of
//                  every family (or a timeout), then one version through
//                  the sync's diff and guards (apply_source)
//              ──▶ live: updates committed as they come; what arrives
//                  while a version is committed (or within the
//                  coalescing window) is the next version
//   down, shutdown, end of input ──▶ the claims stay in force for the
//                  hold time (stored: Controller::hold_claims), then go
//   over the max-prefix limit, a refused table, a failed commit
//              ──▶ stopped: the last good table stays; this session's
//                  updates are not applied until it restarts
//
// Time comes in from the caller (the runner's clock, or a test's), and
// so does the controller: the feed takes the pin-dir lock only to commit.
#pragma once

#include "base/error.hpp"
#include "feed/exabgp_message.hpp"
#include "feed/route_policy.hpp"
#include "registry/guards.hpp"
#include "registry/sync.hpp"
#include "store/state_store.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pw {

struct FeedOptions {
    std::string source;
    RoutePolicy policy;
    std::set<Family> families{Family::v4, Family::v6}; // end-of-RIB awaited for each
    double eor_timeout_s = 60;      // commit the initial table without end-of-RIB after this
    int64_t hold_after_down_s = 900; // 0: hold forever
    size_t max_prefixes = 1000000;  // like BGP's max-prefix: over it, refuse and hold
    // Updates read together (those that arrived while the last version
    // was committed) are one version; this waits longer for more.
    double coalesce_s = 0;
    SyncOptions sync;               // guards (min lengths, protect, private, removal, force)
};

class FeedSession {
public:
    using Clock = std::chrono::steady_clock;
    using ControllerFn = std::function<Controller&()>;
    using LogFn = std::function<void(const std::string&)>;

    FeedSession(FeedOptions o, ControllerFn controller, LogFn log);

    // A hold stored by an earlier run of this feed (its session went
    // down): kept, and honoured at `until` unless a new session replaces it.
    void resume_hold(int64_t until);

    // One line of the stream, read at `read_at`. A bad line is one log
    // line and changes nothing; returns false for a stream in another API
    // version (the feed stops: every line would be misread).
    bool on_line(std::string_view line, Clock::time_point read_at);
    void on_message(const FeedMessage& m, Clock::time_point read_at);
    // The stream ended (end of input, ExaBGP's shutdown, SIGTERM): what
    // is pending is committed, then the claims are held.
    void on_end(const std::string& why);
    // Does what is due at `now`: coalesced updates, an initial table
    // whose end-of-RIB is late, a hold that is over.
    void tick(Clock::time_point now);
    // When tick next has something to do (nullopt: only input).
    std::optional<Clock::time_point> next_deadline() const;

    // The status as of now (latency quantiles computed here).
    FeedStatus status() const;
    // True once after each state change (the runner writes the status).
    bool take_transition();
    const std::string& phase() const { return status_.state; }

private:
    struct Route {
        Action action;
        std::string ref;
    };
    void session_up(const FeedMessage& m, Clock::time_point now);
    void session_down(const std::string& why);
    void update(const FeedMessage& m, Clock::time_point read_at);
    void end_of_rib(const FeedMessage& m, Clock::time_point read_at);
    void commit_initial(Clock::time_point since, const std::string& why);
    void commit_pending();
    // Forgets the live changes not yet committed.
    void drop_pending();
    void start_hold(const std::string& why);
    void stop(const std::string& why);
    void set_state(const std::string& s);
    // From an update read to its version in force, and to its commit's return.
    void record_latency(double in_force, double returned);

    FeedOptions opts_;
    ControllerFn controller_;
    LogFn log_;
    Guards guards_;

    std::map<Prefix, Route> table_; // the session's routes that are applied
    std::map<Prefix, std::optional<Route>> pending_; // live changes not yet committed
    std::vector<Clock::time_point> pending_reads_;   // when their UPDATE lines were read
    std::optional<Clock::time_point> pending_since_;
    std::set<Family> eor_seen_;
    Clock::time_point collecting_since_{};
    std::optional<int64_t> held_until_; // unix seconds; set while this feed holds
    bool holding_ = false;              // a hold is stored (or forever)
    bool live_without_session_ = false; // updates before any "up": applied live
    uint64_t refused_by_guard_ = 0, not_applied_ = 0;

    FeedStatus status_;
    bool transition_ = true;
    std::deque<double> latencies_, returned_; // the last 10,000
};

} // namespace pw
