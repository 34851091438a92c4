#include "feed/feed_runner.hpp"

#include "session/controller.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <ctime>
#include <iostream>
#include <optional>

namespace pw {

namespace {

using Clock = FeedSession::Clock;

volatile std::sig_atomic_t g_signal = 0;
void on_signal(int sig) { g_signal = sig; }

// The controller, opened when a commit needs it and closed when idle: the
// pin-dir lock is held only while updates are flowing.
class ControllerLease {
public:
    ControllerLease(const Paths& p, const Capacity& c) : paths_(p), capacity_(c) {}
    Controller& get()
    {
        auto now = Clock::now();
        if (!ctl_) {
            ctl_.emplace(paths_, capacity_, true);
            opened_ = now;
        }
        used_ = now;
        return *ctl_;
    }
    std::optional<Clock::time_point> due() const
    {
        if (!ctl_)
            return std::nullopt;
        return std::min(used_ + kIdle, opened_ + kMaxHeld);
    }
    void release_if_due(Clock::time_point now)
    {
        if (auto d = due(); d && now >= *d)
            ctl_.reset();
    }

private:
    static constexpr auto kIdle = std::chrono::milliseconds(100);
    static constexpr auto kMaxHeld = std::chrono::seconds(1);
    Paths paths_;
    Capacity capacity_;
    std::optional<Controller> ctl_;
    Clock::time_point opened_{}, used_{};
};

void log_line(const std::string& source, const std::string& line)
{
    char stamp[32];
    std::time_t t = std::time(nullptr);
    std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    std::cerr << stamp << " feed " << source << ": " << line << std::endl;
}

} // namespace

int run_feed(const FeedRun& run)
{
    const std::string& source = run.feed.source;
    ControllerLease lease(run.paths, run.capacity);
    FeedSession session(run.feed, [&]() -> Controller& { return lease.get(); },
                        [&](const std::string& l) { log_line(source, l); });
    StateStore state(run.paths.state_dir);
    if (auto holds = state.load_holds(); holds.contains(source))
        session.resume_hold(holds.at(source));

    struct sigaction sa {};
    sa.sa_handler = on_signal; // no SA_RESTART: poll returns EINTR
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);

    log_line(source, "reading ExaBGP's JSON API (version " + std::string(kExabgpApiVersion) + ") on stdin; routes applied: " +
                         run.feed.policy.describe());
    std::string buf;
    std::vector<char> chunk(1 << 20);
    Clock::time_point last_status{};
    std::optional<FeedStatus> written; // what the status file holds
    int rc = 0;
    bool done = false;
    while (!done) {
        auto now = Clock::now();
        std::optional<Clock::time_point> wake = session.next_deadline();
        if (auto d = lease.due(); d && (!wake || *d < *wake))
            wake = d;
        auto status_due = last_status + std::chrono::seconds(1);
        if (!wake || status_due < *wake)
            wake = status_due;
        int timeout_ms = static_cast<int>(std::clamp<long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(*wake - now).count(), 0, 1000));
        pollfd pfd{run.input_fd, POLLIN, 0};
        int n = ::poll(&pfd, 1, timeout_ms);
        if (g_signal) {
            session.on_end(std::string("stopping on ") + (g_signal == SIGTERM ? "SIGTERM" : "SIGINT"));
            break;
        }
        if (n < 0 && errno != EINTR)
            throw sys_error("feed: poll on stdin", errno);
        if (n > 0) {
            ssize_t got = ::read(run.input_fd, chunk.data(), chunk.size());
            auto read_at = Clock::now();
            if (got < 0 && errno != EINTR && errno != EAGAIN)
                throw sys_error("feed: reading stdin", errno);
            if (got == 0) {
                if (!buf.empty())
                    session.on_line(buf, read_at);
                session.on_end("end of input (ExaBGP closed the pipe)");
                break;
            }
            if (got > 0) {
                buf.append(chunk.data(), static_cast<size_t>(got));
                size_t start = 0;
                for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
                    if (!session.on_line(std::string_view(buf).substr(start, nl - start), read_at)) {
                        session.on_end("the stream cannot be read");
                        rc = 1;
                        done = true;
                        break;
                    }
                }
                buf.erase(0, start);
            }
        }
        now = Clock::now();
        session.tick(now);
        lease.release_if_due(now);
        // At each transition, and at most once a second while it changes.
        if (session.take_transition() || now >= status_due) {
            FeedStatus s = session.status();
            if (s != written) {
                state.save_feed_status(source, s);
                written = s;
            }
            last_status = now;
        }
    }
    session.tick(Clock::now());
    state.save_feed_status(source, session.status());
    return rc;
}

} // namespace pw
