// Benchmarks' registry loading: a registry file (any format prefixwall
// reads; .gz through zcat) into a rule set of blocks, and the corpora the
// speed issue names, under ../shared/registries.
#pragma once

#include "registry/parser.hpp"
#include "store/rules.hpp"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace pwbench {
using namespace pw;

struct Corpus {
    std::string name;
    std::vector<std::string> files; // relative to the registries directory
};

inline std::vector<Corpus> speed_corpora()
{
    return {{"RKN v4", {"zi/rkn_ip_all_v4_2025-10-01.lst"}},
            {"RKN v6", {"zi/rkn_ip6_2024-11-19.lst"}},
            {"Spamhaus DROP+DROPv6", {"spamhaus/drop.txt", "spamhaus/dropv6.txt"}},
            {"BGP v4 1M", {"bgp/derived_v4_prefixes_rv2-20240406.txt.gz"}},
            {"BGP v6 160k", {"bgp/derived_v6_prefixes_gaissmai.txt.gz"}}};
}

// Adds every entry of `path` to `rules` as a block of source "bench".
inline void load_registry(const std::string& path, RuleSet& rules)
{
    struct Collect : EntrySink {
        RuleSet* rules;
        void entry(Entry&& e) override { rules->add(e.prefix, "bench", Claim{Action::block, ""}); }
        void reject(Rejection&&) override {}
    } sink;
    sink.rules = &rules;
    bool gz = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
    std::string cmd = std::string(gz ? "zcat" : "cat") + " '" + path + "'";
    std::unique_ptr<FILE, int (*)(FILE*)> in(::popen(cmd.c_str(), "r"), ::pclose);
    if (!in)
        throw std::runtime_error("cannot read " + path);
    std::unique_ptr<Parser> parser;
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), in.get())) > 0) {
        if (!parser)
            parser = make_parser(detect_format(std::string_view(buf, n)), sink);
        parser->feed(std::string_view(buf, n));
    }
    if (parser)
        parser->finish();
}

inline std::filesystem::path registries_dir()
{
    return std::filesystem::path(PW_SHARED_REGISTRIES);
}

} // namespace pwbench
