#include "report/top.hpp"

#include "base/error.hpp"
#include "report/render.hpp"
#include "report/rates.hpp"
#include "session/reader.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

namespace pw {
namespace fs = std::filesystem;

namespace {

// Raw keyboard input for the life of the object (restored on exit).
class RawTerminal {
public:
    RawTerminal()
    {
        if (!::isatty(0) || tcgetattr(0, &saved_) != 0)
            return;
        termios raw = saved_;
        raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        active_ = tcsetattr(0, TCSANOW, &raw) == 0;
        std::fputs("\033[?25l", stdout); // hide the cursor
    }
    ~RawTerminal()
    {
        if (active_)
            tcsetattr(0, TCSANOW, &saved_);
        std::fputs("\033[?25h\n", stdout);
        std::fflush(stdout);
    }

private:
    termios saved_{};
    bool active_ = false;
};

std::pair<int, int> terminal_size()
{
    winsize w{};
    if (::ioctl(1, TIOCGWINSZ, &w) == 0 && w.ws_col > 0 && w.ws_row > 0)
        return {w.ws_col, w.ws_row};
    return {80, 24};
}

uint64_t read_u64(const fs::path& p)
{
    std::ifstream in(p);
    uint64_t v = 0;
    in >> v;
    return v;
}

std::string fit(std::string s, size_t width)
{
    if (s.size() > width)
        s.resize(width);
    return s;
}

const char* sort_name(SortKey k)
{
    switch (k) {
    case SortKey::packets: return "packets";
    case SortKey::bytes: return "bytes";
    case SortKey::pps: return "packets/s";
    case SortKey::bps: return "bits/s";
    }
    return "?";
}

} // namespace

int run_top(const Paths& paths, const Capacity& cap, double interval_s, SortKey key)
{
    Reader reader(paths, cap);
    const Dataplane* dp = &reader.dataplane();
    RawTerminal term;
    LoadSnapshot before = read_load(*dp);
    std::map<std::string, std::pair<uint64_t, uint64_t>> if_before; // rx packets, bytes
    auto attachments = reader.store().load_attachments();
    auto if_counts = [&](const std::string& ifname) {
        fs::path base = fs::path("/sys/class/net") / ifname / "statistics";
        return std::make_pair(read_u64(base / "rx_packets"), read_u64(base / "rx_bytes"));
    };
    for (const auto& a : attachments)
        if_before[a.ifname] = if_counts(a.ifname);

    for (;;) {
        // Wait for the interval, answering keys meanwhile.
        pollfd p{0, POLLIN, 0};
        int waited = ::poll(&p, ::isatty(0) ? 1 : 0, static_cast<int>(interval_s * 1000));
        if (waited > 0) {
            char c = 0;
            if (::read(0, &c, 1) == 1) {
                if (c == 'q' || c == 'Q')
                    return 0;
                if (c == 'p') key = SortKey::pps;
                if (c == 'b') key = SortKey::bps;
                if (c == 't') key = SortKey::packets;
                if (c == 'y') key = SortKey::bytes;
            }
        }
        if (reader.refresh()) { // the pins were recreated: rates start afresh
            dp = &reader.dataplane();
            before = read_load(*dp);
            continue;
        }
        LoadSnapshot now = read_load(*dp);
        double dt = seconds_between(before.at, now.at);
        if (dt <= 0)
            continue;
        auto [cols, rows] = terminal_size();
        size_t width = static_cast<size_t>(std::max(cols, 40));
        std::ostringstream o;
        char clock[16];
        std::time_t t = std::time(nullptr);
        std::strftime(clock, sizeof(clock), "%H:%M:%S", std::localtime(&t));
        std::string title = std::string("prefixwall top, by ") + sort_name(key) +
                            "  (keys: p pps, b bps, t packets, y bytes, q quit)";
        o << fit(title, width - 9) << std::string(width - 9 - std::min(title.size(), width - 9) + 1, ' ')
          << clock << "\n";

        // Totals: dropped vs everything passed, by rate.
        auto rate_of = [&](unsigned outcome) {
            Counter c0, c1;
            for (unsigned f = 0; f < PW_FAMILY_MAX; f++) {
                c0 += before.global[global_index(f, outcome)];
                c1 += now.global[global_index(f, outcome)];
            }
            Rate r = rate_between(c0, c1, dt);
            return std::make_pair(r.pps, r.bps);
        };
        auto dropped = rate_of(PW_OUTCOME_DROPPED);
        double passed_pps = 0, passed_bps = 0;
        for (unsigned oc : {PW_OUTCOME_ALLOWED, PW_OUTCOME_MONITORED, PW_OUTCOME_PASSED,
                            PW_OUTCOME_MALFORMED, PW_OUTCOME_NON_IP}) {
            auto r = rate_of(oc);
            passed_pps += r.first;
            passed_bps += r.second;
        }
        auto monitored = rate_of(PW_OUTCOME_MONITORED);
        auto rejected = rate_of(PW_OUTCOME_REJECTED);
        o << fit("dropped " + human(dropped.first) + " pps " + human(dropped.second) + " bps | passed " +
                     human(passed_pps) + " pps " + human(passed_bps) + " bps | monitored " +
                     human(monitored.first) + " pps | rejected " + human(rejected.first) + " pps",
                 width)
          << "\n";

        auto rs = reader.view();
        // Per source (rate) and per interface (received, from the kernel).
        std::map<std::string, double> src_pps;
        auto ranked = rank_rules(rs, now, &before, key, 0);
        for (const auto& r : ranked)
            for (const auto& [name, _] : r.rule->claims)
                src_pps[name] += r.pps;
        std::string line = "sources:";
        for (const auto& [name, pps] : src_pps)
            line += " " + name + " " + human(pps) + "pps";
        o << fit(line, width) << "\n";
        line = "interfaces:";
        for (const auto& a : attachments) {
            auto c = if_counts(a.ifname);
            auto& b = if_before[a.ifname];
            line += " " + a.ifname + " rx " + human(per_second(b.first, c.first, dt)) + "pps";
            b = c;
        }
        o << fit(line, width) << "\n\n";

        // The busiest prefixes, with a bar scaled to the first.
        size_t listed = static_cast<size_t>(std::max(rows - 7, 1));
        if (ranked.size() > listed)
            ranked.resize(listed);
        char head[128];
        std::snprintf(head, sizeof(head), "%-22s %-7s %-12s %8s %8s  ", "PREFIX", "ACTION", "SOURCES", "PPS", "BPS");
        o << fit(head, width) << "\n";
        double top_value = 0;
        auto value = [&](const RuleLoad& r) { return sort_value(r, key); };
        if (!ranked.empty())
            top_value = value(ranked[0]);
        size_t bar_width = width > 66 ? width - 66 : 0;
        bool any_scoped = false;
        for (const auto& r : ranked) {
            // A rule scoped to L4 shows its scoped action, marked.
            ScopedPart part = r.rule->scoped();
            std::string action = part.scoped() ? std::string(action_name(part.action)) + "*"
                                               : action_name(r.rule->action());
            any_scoped |= part.scoped();
            std::string sources;
            for (const auto& s : r.rule->sources())
                sources += (sources.empty() ? "" : ",") + s;
            char row[160];
            std::snprintf(row, sizeof(row), "%-22s %-7s %-12s %8s %8s  ", r.rule->prefix.to_string().c_str(),
                          action.c_str(), fit(sources, 12).c_str(), human(r.pps).c_str(),
                          human(r.bps).c_str());
            size_t bar = top_value > 0 ? static_cast<size_t>(value(r) / top_value * static_cast<double>(bar_width)) : 0;
            o << fit(std::string(row) + std::string(bar, '#'), width) << "\n";
        }
        if (ranked.empty())
            o << "(no rule has seen traffic)\n";
        if (any_scoped)
            o << "* scoped to L4 (protocol, ports): 'prefixwall list' shows the scope\n";
        std::string screen = o.str();
        std::fputs("\033[H\033[2J", stdout);
        std::fputs(screen.c_str(), stdout);
        std::fflush(stdout);
        before = std::move(now);
        if (!::isatty(1))
            return 0; // one frame when not on a terminal
    }
}

} // namespace pw
