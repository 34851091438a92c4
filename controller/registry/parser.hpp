// Streaming parsers for every registry format prefixwall reads. Feed the
// bytes in chunks of any size; entries and rejected lines go to the sink
// as they are found. A line longer than max_line is rejected (and skipped)
// without buffering it whole.
#pragma once

#include "registry/entry.hpp"

#include <memory>
#include <set>
#include <string>
#include <string_view>

namespace pw {

enum class Format { plain, spamhaus, spamhaus_json, zapret, rkn_xml, pfx2as };

const char* format_name(Format f);
Format parse_format(std::string_view name); // throws Error; "spamhaus-json" etc.
// Guesses the format from the first bytes of a registry.
Format detect_format(std::string_view head);

struct ParseOptions {
    size_t max_line = 1 << 20; // z-i records reach 78,000 characters
    // rkn-xml: which blockType values become entries. "ip" orders blocking
    // by address; for domain, domain-mask and URL ("url": no blockType)
    // entries the addresses are only what the name resolved to.
    std::set<std::string> rkn_block_types{"ip"};
};

class Parser {
public:
    virtual ~Parser() = default;
    virtual void feed(std::string_view chunk) = 0;
    // End of input; throws Error on a fatal syntax error (XML).
    virtual void finish() = 0;
    virtual const ParseStats& stats() const = 0;
};

std::unique_ptr<Parser> make_parser(Format f, EntrySink& sink, const ParseOptions& opts = {});

} // namespace pw
