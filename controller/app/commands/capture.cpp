// prefixwall capture: the packets the data plane judges, as pcapng, each
// with a comment naming its rule, the rule's sources and the outcome.
#include "app/commands/commands.hpp"

#include "base/error.hpp"
#include "base/version.hpp"
#include "base/vocabulary.hpp"
#include "kernel/capture_slots.hpp"
#include "report/pcapng.hpp"
#include "report/render.hpp"
#include "session/reader.hpp"

#include <bpf/libbpf.h>
#include <net/if.h>
#include <signal.h>

#include <chrono>
#include <csignal>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <unordered_map>

namespace pw {
namespace po = boost::program_options;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_stop(int) { g_stop = 1; }

// "1/N" or "N": one packet in N.
uint32_t parse_sample(const std::string& s)
{
    std::string n = s.rfind("1/", 0) == 0 ? s.substr(2) : s;
    char* end = nullptr;
    unsigned long v = std::strtoul(n.c_str(), &end, 10);
    if (n.empty() || *end || v == 0 || v > 1000000000)
        throw UsageError("capture: bad --sample '" + s + "': expected 1/N with N from 1 to 10^9");
    return static_cast<uint32_t>(v);
}

uint32_t parse_outcomes(const std::string& list)
{
    uint32_t mask = 0;
    std::stringstream ss(list);
    for (std::string w; std::getline(ss, w, ',');) {
        bool found = false;
        for (unsigned o = 0; o < PW_OUTCOME_MAX; o++)
            if (w == outcome_name(o)) {
                mask |= 1u << o;
                found = true;
            }
        if (!found)
            throw UsageError("capture: bad --outcome '" + w +
                             "': expected dropped, rejected, allowed, monitored or passed");
    }
    return mask;
}

// Offset of CLOCK_REALTIME from CLOCK_MONOTONIC (bpf_ktime_get_ns), in ns.
int64_t realtime_offset_ns()
{
    timespec rt{}, mono{};
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    return (int64_t(rt.tv_sec) - mono.tv_sec) * 1000000000 + (rt.tv_nsec - mono.tv_nsec);
}

class Capture : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()
            ("rule", po::value(&rule_)->value_name("PREFIX"), "only packets this rule matched")
            ("source", po::value(&source_)->value_name("NAME"), "only packets a rule of this source matched")
            ("outcome", po::value(&outcomes_)->value_name("O[,O...]"),
             "only these outcomes (dropped, rejected, allowed, monitored, passed)")
            ("interface", po::value(&iface_)->value_name("IFACE"), "only packets received on IFACE")
            ("count", po::value(&count_)->default_value(0)->value_name("N"), "stop after N packets (0: no limit)")
            ("duration", po::value(&duration_)->default_value(0)->value_name("S"), "stop after S seconds (0: no limit)")
            ("snaplen", po::value(&snaplen_)->default_value(PW_CAPTURE_MAX_SNAPLEN)->value_name("N"),
             "bytes kept of each packet (at most 1536)")
            ("sample", po::value(&sample_)->default_value("1/1")->value_name("1/N"), "one in N matching packets")
            ("buffer-kb", po::value(&buffer_kb_)->default_value(4096)->value_name("KB"),
             "the ring buffer between the data plane and this capture (a power of two)")
            ("write,w", po::value(&write_)->value_name("FILE|-"), "the pcapng file, or - for stdout");
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 0, 0, "capture", "");
        if (write_.empty())
            throw UsageError("capture: -w FILE (or -w - for stdout) is required");
        if (!rule_.empty() && !source_.empty())
            throw UsageError("capture: --rule and --source exclude each other");
        if (snaplen_ < 1 || snaplen_ > PW_CAPTURE_MAX_SNAPLEN)
            throw UsageError("capture: --snaplen must be between 1 and 1536");
        if (buffer_kb_ < 4 || buffer_kb_ > (1u << 20) || (buffer_kb_ & (buffer_kb_ - 1)))
            throw UsageError("capture: --buffer-kb must be a power of two from 4 to 1048576");
        if (duration_ < 0)
            throw UsageError("capture: --duration must not be negative");
        CaptureFilter filter;
        filter.sample = parse_sample(sample_);
        filter.snaplen = snaplen_;
        if (!outcomes_.empty())
            filter.outcomes = parse_outcomes(outcomes_);
        if (!iface_.empty()) {
            filter.ifindex = if_nametoindex(iface_.c_str());
            if (!filter.ifindex)
                throw Error("capture: no interface '" + iface_ + "'");
        }

        Reader reader(ctx.global.paths, ctx.global.capacity);
        if (!rule_.empty()) {
            Prefix p = Prefix::parse(rule_);
            auto r = reader.view().find(p);
            if (!r)
                throw Error("capture: no rule " + p.to_string() + " is in force");
            filter.rule_id = r->id;
        }

        std::ofstream file;
        std::ostream* out = &ctx.out;
        if (write_ != "-") {
            file.open(write_, std::ios::binary | std::ios::trunc);
            if (!file)
                throw Error("capture: cannot write " + write_);
            out = &file;
        }
        PcapngWriter pcap(*out, std::string("prefixwall ") + version() + " capture");
        CaptureSlot slot(ctx.global.paths.pin_dir, filter, buffer_kb_ * 1024);

        State st{this, &reader, &pcap, realtime_offset_ns()};
        ring_buffer* rb = ring_buffer__new(slot.ring_fd(), &State::on_record, &st, nullptr);
        if (!rb)
            throw sys_error("capture: open the ring buffer", errno);
        struct sigaction sa {};
        sa.sa_handler = on_stop; // no SA_RESTART: the poll returns
        sigaction(SIGINT, &sa, nullptr);
        sigaction(SIGTERM, &sa, nullptr);
        signal(SIGPIPE, SIG_IGN);
        ctx.err << "capture: slot " << slot.slot() << ", writing " << (write_ == "-" ? "stdout" : write_)
                << (count_ ? ", " + std::to_string(count_) + " packets" : "")
                << (duration_ > 0 ? ", " + std::to_string(duration_) + " s" : "") << " (Ctrl-C stops)\n";
        auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(duration_);
        while (!g_stop && (!count_ || st.written < count_) &&
               (duration_ <= 0 || std::chrono::steady_clock::now() < deadline)) {
            int n = ring_buffer__poll(rb, 100);
            if (n < 0 && n != -EINTR) {
                ring_buffer__free(rb);
                throw sys_error("capture: read the ring buffer", -n);
            }
            pcap.flush();
            if (!*out) {
                ring_buffer__free(rb);
                throw Error("capture: writing " + write_ + " failed");
            }
        }
        ring_buffer__free(rb);
        pcap.flush();
        uint64_t lost = slot.lost();
        ctx.err << "capture: " << st.written << " packet" << (st.written == 1 ? "" : "s") << " written";
        if (lost)
            ctx.err << ", " << lost << " lost: the ring buffer was full (a bigger --buffer-kb or a --sample helps)";
        ctx.err << "\n";
        return 0;
    }

private:
    struct State {
        Capture* self;
        Reader* reader;
        PcapngWriter* pcap;
        int64_t offset_ns;
        uint64_t written = 0;
        std::unordered_map<uint32_t, std::optional<Rule>> rules{};
        std::unordered_map<uint32_t, std::string> ifnames{};

        const std::optional<Rule>& rule(uint32_t id)
        {
            auto it = rules.find(id);
            if (it == rules.end())
                it = rules.emplace(id, id ? reader->view().find_id(id) : std::nullopt).first;
            return it->second;
        }
        const std::string& ifname(uint32_t ifindex)
        {
            auto it = ifnames.find(ifindex);
            if (it == ifnames.end()) {
                char buf[IF_NAMESIZE] = {};
                std::string name = if_indextoname(ifindex, buf) ? buf : "if" + std::to_string(ifindex);
                it = ifnames.emplace(ifindex, name).first;
            }
            return it->second;
        }
        bool of_source(uint32_t id, const std::string& source)
        {
            const auto& r = rule(id);
            return r && r->claims.count(source);
        }
        static int on_record(void* ctx, void* data, size_t size)
        {
            auto* st = static_cast<State*>(ctx);
            if (size < offsetof(pw_capture_record, data))
                return 0;
            const auto* rec = static_cast<const pw_capture_record*>(data);
            const std::string& source = st->self->source_;
            if (!source.empty() && !st->of_source(rec->src_rule_id, source) &&
                !st->of_source(rec->dst_rule_id, source))
                return 0;
            if (st->self->count_ && st->written >= st->self->count_)
                return 0;
            std::string comment;
            auto describe = [&](uint32_t id, const char* which) {
                const auto& r = st->rule(id);
                if (!id)
                    return;
                if (!comment.empty())
                    comment += "; ";
                if (!r) {
                    comment += std::string(which) + " rule " + std::to_string(id) + " (gone)";
                    return;
                }
                comment += std::string(which) + " rule " + r->prefix.to_string() + " " + action_text(*r) +
                           " sources " + join(r->sources(), ",");
            };
            describe(rec->src_rule_id, "src");
            if (rec->dst_rule_id != rec->src_rule_id)
                describe(rec->dst_rule_id, "dst");
            comment += (comment.empty() ? "" : "; ") + std::string("outcome ") + outcome_name(rec->outcome);
            uint32_t caplen = std::min<uint32_t>(rec->caplen, PW_CAPTURE_MAX_SNAPLEN);
            uint64_t ts = static_cast<uint64_t>(int64_t(rec->ktime_ns) + st->offset_ns);
            st->pcap->packet(st->ifname(rec->ifindex), ts, rec->len, rec->data, caplen, comment);
            st->written++;
            return 0;
        }
    };

    std::string rule_, source_, outcomes_, iface_, sample_, write_;
    uint64_t count_ = 0;
    double duration_ = 0;
    uint32_t snaplen_ = PW_CAPTURE_MAX_SNAPLEN, buffer_kb_ = 4096;
};

} // namespace

std::unique_ptr<Command> make_capture() { return std::make_unique<Capture>(); }

} // namespace pw
