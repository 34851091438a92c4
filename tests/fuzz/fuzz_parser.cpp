// libFuzzer target: every registry parser, the format detector, the prefix
// parser, the config parser and the ExaBGP JSON line reader (with
// community rules) on arbitrary bytes. The first byte picks
// the parser and the chunk size, so streaming boundaries are fuzzed too.
// Anything may be rejected; nothing may crash, hang or leak.
#include "app/config.hpp"
#include "base/error.hpp"
#include "feed/exabgp_message.hpp"
#include "feed/route_policy.hpp"
#include "registry/parser.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {
struct Sink : pw::EntrySink {
    void entry(pw::Entry&& e) override { (void)e.prefix.to_string(); }
    void reject(pw::Rejection&&) override {}
};
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    unsigned kind = sel % 9;
    size_t chunk = 1 + (sel >> 3) * 37;
    try {
        if (kind < 6) {
            Sink sink;
            pw::ParseOptions o;
            o.max_line = 4096;
            o.rkn_block_types = {"ip", "domain", "url"};
            auto p = pw::make_parser(static_cast<pw::Format>(kind), sink, o);
            for (size_t i = 0; i < in.size(); i += chunk)
                p->feed(in.substr(i, chunk));
            p->finish();
        } else if (kind == 6) {
            (void)pw::detect_format(in);
            bool masked;
            (void)pw::Prefix::parse(in.substr(0, 64), &masked);
        } else if (kind == 7) {
            (void)pw::parse_config(std::string(in), "fuzz");
        } else {
            // One ExaBGP line per input line; each message also goes
            // through the route policy, as the feed does.
            pw::RoutePolicy policy;
            for (size_t start = 0; start <= in.size();) {
                size_t nl = in.find('\n', start);
                std::string_view line = in.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
                try {
                    auto m = pw::parse_exabgp_line(line);
                    (void)policy.action_for(m.communities);
                    (void)pw::RoutePolicy::reference(m);
                } catch (const pw::Error&) {
                }
                try {
                    policy.add_rule(line.substr(0, 64));
                } catch (const pw::Error&) {
                }
                if (nl == std::string_view::npos)
                    break;
                start = nl + 1;
            }
        }
    } catch (const pw::Error&) {
    }
    return 0;
}
