#include "app/daemon.hpp"

#include "base/error.hpp"
#include "kernel/pin_layout.hpp"
#include "registry/sync_report.hpp"
#include "registry/sync_runner.hpp"
#include "report/metrics.hpp"
#include "session/reader.hpp"

#include <httplib.h>
#include <malloc.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <ctime>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

namespace pw {
namespace fs = std::filesystem;

namespace {

std::mutex log_mutex;

void log_line(const std::string& line)
{
    char stamp[32];
    std::time_t t = std::time(nullptr);
    std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    std::lock_guard<std::mutex> g(log_mutex);
    std::cerr << stamp << " " << line << std::endl;
}

// Stops sleeping threads at once.
class StopFlag {
public:
    void stop()
    {
        std::lock_guard<std::mutex> g(m_);
        stopped_ = true;
        cv_.notify_all();
    }
    bool stopped()
    {
        std::lock_guard<std::mutex> g(m_);
        return stopped_;
    }
    // Sleeps for `d`; returns false when stopped meanwhile.
    bool sleep(std::chrono::duration<double> d)
    {
        std::unique_lock<std::mutex> l(m_);
        return !cv_.wait_for(l, d, [this] { return stopped_; });
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool stopped_ = false;
};

// One thread per source, until stopped.
class SourceWorker {
public:
    SourceWorker(const DaemonOptions& o, SourceSpec spec, SyncOptions sync)
        : opts_(o), spec_(std::move(spec)), sync_(std::move(sync)), thread_([this] { run(); })
    {
    }
    ~SourceWorker()
    {
        stop_.stop();
        thread_.join();
    }

private:
    void run()
    {
        std::mt19937 rng(std::random_device{}());
        while (!stop_.stopped()) {
            sync_once();
            // Jitter: +-10% so sources with one interval do not move in step.
            double base = spec_.interval_s;
            std::uniform_real_distribution<double> jitter(0.9 * base, 1.1 * base);
            if (!stop_.sleep(std::chrono::duration<double>(jitter(rng))))
                return;
        }
    }

    void sync_once()
    {
        SyncRun run{opts_.paths, opts_.capacity, true, [this] { return stop_.stopped(); }};
        SyncOutcome o = run_sync(run, spec_, sync_);
        // A sync's buffers (entries, change set, table regions) are freed
        // by now, in this thread's malloc arena, which glibc does not give
        // back by itself: without this, a daemon keeps the peak of its
        // largest sync for good.
        ::malloc_trim(0);
        if (stop_.stopped() && !o.report)
            return;
        log_line(summary_line(o));
        for (const auto& line : o.notices)
            log_line(line);
    }

    const DaemonOptions& opts_;
    SourceSpec spec_;
    SyncOptions sync_;
    StopFlag stop_;
    std::thread thread_;
};

// Deadlines, four times a second: a BGP feed's hold that is over (even
// when the feed is gone), a claim that expires (add --expire, a source's
// expire=). Opening a Controller withdraws what is due (one version, one
// line each), so the watcher only looks, without the lock: the holds
// file, and the first key of the rule store's expiry index.
class DeadlineWatcher {
public:
    explicit DeadlineWatcher(const DaemonOptions& o) : opts_(o), thread_([this] { run(); }) {}
    ~DeadlineWatcher()
    {
        stop_.stop();
        thread_.join();
    }

private:
    void run()
    {
        StateStore store(opts_.paths.state_dir);
        while (stop_.sleep(std::chrono::milliseconds(250))) {
            try {
                auto now = static_cast<int64_t>(std::time(nullptr));
                bool due = false;
                for (const auto& [source, until] : store.load_holds())
                    due |= until <= now;
                if (!due && RuleDb::exists(opts_.paths.state_dir)) {
                    auto [n, next] = RuleDb::shared(opts_.paths.state_dir, opts_.paths.store_mb)->read().expiring();
                    due = n > 0 && next <= now;
                }
                if (due) {
                    Controller ctl(opts_.paths, opts_.capacity, false); // withdraws, one line each
                }
            } catch (const std::exception& e) {
                log_line(std::string("held or expired claims not withdrawn yet: ") + e.what());
            }
        }
    }

    const DaemonOptions& opts_;
    StopFlag stop_;
    std::thread thread_;
};

// The /metrics view: the read-only entry point (session/reader.hpp), so a
// sync being applied never holds a scrape up; rates from the previous
// scrape.
class MetricsView {
public:
    explicit MetricsView(const DaemonOptions& o) : opts_(o) {}

    std::string render(size_t top_k)
    {
        std::lock_guard<std::mutex> g(m_);
        if (!reader_)
            reader_.emplace(opts_.paths, opts_.capacity);
        else if (reader_->refresh())
            have_prev_ = false; // the pins were recreated under us: rates start afresh
        const Dataplane& dp = reader_->dataplane();
        LoadSnapshot now = read_load(dp);
        const LoadSnapshot* before = have_prev_ ? &prev_ : nullptr;
        auto rules = reader_->view();
        std::string text = render_metrics(metrics_input(rules, reader_->store(), &dp, now, before, top_k));
        prev_ = std::move(now);
        have_prev_ = true;
        return text;
    }

private:
    const DaemonOptions& opts_;
    std::mutex m_;
    std::optional<Reader> reader_;
    LoadSnapshot prev_;
    bool have_prev_ = false;
};

std::pair<std::string, int> split_listen(const std::string& listen)
{
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos)
        throw Error("bad --listen '" + listen + "': expected ADDRESS:PORT");
    std::string host = listen.substr(0, colon);
    if (host.size() > 1 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    int port = 0;
    try {
        port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
        port = -1;
    }
    if (port <= 0 || port > 65535)
        throw Error("bad --listen '" + listen + "': bad port");
    return {host, port};
}

Config load_effective(const DaemonOptions& o)
{
    Config cfg = o.config_file ? load_config(*o.config_file) : Config{};
    if (o.overrides)
        o.overrides(cfg);
    for (auto& s : cfg.sources)
        if (s.interval_s == 0)
            s.interval_s = cfg.daemon.interval_s;
    return cfg;
}

} // namespace

int run_daemon(const DaemonOptions& opts)
{
    // Signals are taken by this thread alone, with sigwait.
    sigset_t sigs;
    sigemptyset(&sigs);
    for (int s : {SIGHUP, SIGTERM, SIGINT})
        sigaddset(&sigs, s);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

    Config cfg = load_effective(opts);
    auto [host, port] = split_listen(cfg.daemon.listen);

    // Maps first (so /metrics has something to read), then attachments.
    {
        Controller ctl(opts.paths, opts.capacity, true);
        for (const auto& ifname : cfg.daemon.attach) {
            Attachment a;
            a.ifname = ifname;
            a.mode = cfg.daemon.mode;
            a.match = cfg.daemon.match;
            a.engine = cfg.daemon.engine;
            ctl.attach(a);
            log_line("attached " + ifname + " (" + mode_name(a.mode) + ", match " + match_name(a.match) +
                     ", engine " + engine_name(a.engine) + ")");
        }
    }

    MetricsView metrics(opts);
    std::atomic<size_t> top_k{cfg.daemon.metrics_top_k};
    httplib::Server http;
    http.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
        try {
            res.set_content(metrics.render(top_k), "text/plain; version=0.0.4; charset=utf-8");
        } catch (const std::exception& e) {
            res.status = 503;
            res.set_content(std::string("error: ") + e.what() + "\n", "text/plain");
        }
    });
    http.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
        bool ok = !missing_maps(opts.paths.pin_dir).any();
        res.status = ok ? 200 : 503;
        res.set_content(ok ? "ok\n" : "no maps pinned\n", "text/plain");
    });
    if (!http.bind_to_port(host, port))
        throw Error("cannot listen on " + cfg.daemon.listen);
    std::thread http_thread([&] { http.listen_after_bind(); });
    log_line("serving /metrics and /healthz on " + cfg.daemon.listen + ", " +
             std::to_string(cfg.sources.size()) + " sources");

    SyncOptions sync = opts.sync;
    auto start_workers = [&](const Config& c) {
        std::vector<std::unique_ptr<SourceWorker>> w;
        SyncOptions so = sync;
        so.guards = c.guards;
        so.fetch = c.fetch;
        so.progress = false;
        for (const auto& s : c.sources)
            w.push_back(std::make_unique<SourceWorker>(opts, s, so));
        return w;
    };
    auto workers = start_workers(cfg);
    DeadlineWatcher deadlines(opts);

    int code = 0;
    for (;;) {
        int sig = 0;
        sigwait(&sigs, &sig);
        if (sig == SIGHUP) {
            try {
                Config next = load_effective(opts);
                if (next.daemon.listen != cfg.daemon.listen)
                    log_line("reload: a new listen address takes a restart; still on " + cfg.daemon.listen);
                workers.clear(); // stops and joins every source thread
                cfg = next;
                top_k = cfg.daemon.metrics_top_k;
                workers = start_workers(cfg);
                log_line("reloaded: " + std::to_string(cfg.sources.size()) + " sources");
            } catch (const std::exception& e) {
                log_line(std::string("reload refused, keeping the running configuration: ") + e.what());
            }
            continue;
        }
        log_line(std::string("stopping on ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT"));
        break;
    }
    workers.clear();
    http.stop();
    http_thread.join();
    if (cfg.daemon.detach_on_exit) {
        try {
            Controller ctl(opts.paths, opts.capacity, false);
            for (const auto& ifname : cfg.daemon.attach)
                ctl.detach(ifname);
            log_line("detached on exit");
        } catch (const std::exception& e) {
            log_line(std::string("detach on exit failed: ") + e.what());
            code = 1;
        }
    } else {
        log_line("the data plane keeps filtering");
    }
    return code;
}

} // namespace pw
